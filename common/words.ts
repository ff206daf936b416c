/** `Resend's`, `Loops'`: a name's possessive, as English writes it after a final s. */
export const possessive = (name: string): string => (name.endsWith('s') ? `${name}'` : `${name}'s`);
