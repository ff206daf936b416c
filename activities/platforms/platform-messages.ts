/**
 * A platform's own words about a refused contact, as the run's status may show them: without
 * personal data. A platform may quote the address it refused (or any other), so every email is
 * replaced by `[email]`; the rest (field names, rules) is what tells an operator what to fix.
 */

/** Anything shaped like an address, quoted or not: local part, @, a domain with a dot. */
const EMAIL = /[^\s@<>()[\]"'`,;:]+@[^\s@<>()[\]"'`,;:]+\.[^\s@<>()[\]"'`,;:]+/g;

/** Messages are cut to this many characters: enough for a sentence or two. */
export const PLATFORM_MESSAGE_MAX = 300;

/** The message with emails redacted, whitespace collapsed and cut; undefined when empty. */
export function redactedPlatformMessage(message: string | null | undefined): string | undefined {
  if (!message) return undefined;
  const redacted = message.replace(EMAIL, '[email]').replace(/\s+/g, ' ').trim();
  if (redacted === '') return undefined;
  const characters = Array.from(redacted);
  return characters.length <= PLATFORM_MESSAGE_MAX
    ? redacted
    : `${characters.slice(0, PLATFORM_MESSAGE_MAX - 1).join('')}…`;
}
