// Starts the shared real services for the suite (filled in by the foundation work).
export default async function setup(): Promise<() => Promise<void>> {
  return async () => {};
}
