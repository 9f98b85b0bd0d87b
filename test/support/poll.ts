/**
 * Calls `read` until `accept` holds or `withinMs` has passed, every `everyMs`; returns the last
 * value read and how long it took. A bounded poll, for changes the app sees by expiry, not by event.
 */
export async function pollUntil<T>(
  read: () => Promise<T>,
  accept: (value: T) => boolean,
  withinMs: number,
  everyMs = 100,
): Promise<{ value: T; elapsedMs: number }> {
  const started = Date.now();
  for (;;) {
    const value = await read();
    const elapsedMs = Date.now() - started;
    if (accept(value) || elapsedMs >= withinMs) return { value, elapsedMs };
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
