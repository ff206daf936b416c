import pLimit from 'p-limit';

/**
 * Runs `task` for every item with at most `concurrency` at once. When one task fails, no further
 * task starts, the ones in flight are allowed to settle, and then the first error is thrown: an
 * attempt that failed must not keep sending while Temporal's retry of it already runs.
 */
export async function forEachSettling<T>(
  items: readonly T[],
  concurrency: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  const limit = pLimit(Math.max(1, concurrency));
  let failure: { error: unknown } | undefined;
  await Promise.allSettled(
    items.map((item) =>
      limit(async () => {
        if (failure) return;
        try {
          await task(item);
        } catch (error) {
          failure ??= { error };
        }
      }),
    ),
  );
  if (failure) throw failure.error;
}
