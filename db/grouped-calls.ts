/**
 * Calls that come while the previous group is on its way wait and go together as the next group,
 * in the order they came: one statement for many callers when they come faster than a round trip
 * (a batch's outcomes at a high rate limit, on a busy machine), and no wait when they do not.
 * Each caller gets its own answer once its group is done, or the group's error. A group holds at
 * most `maxGroup` calls.
 */
export function groupWhileBusy<T, R>(
  run: (items: T[]) => Promise<R[]>,
  maxGroup = 100,
): (item: T) => Promise<R> {
  const waiting: { item: T; resolve: (answer: R) => void; reject: (error: unknown) => void }[] = [];
  let busy = false;
  const drain = async () => {
    if (busy) return;
    busy = true;
    try {
      while (waiting.length > 0) {
        const group = waiting.splice(0, maxGroup);
        try {
          const answers = await run(group.map((one) => one.item));
          group.forEach((one, i) => {
            one.resolve(answers[i] as R);
          });
        } catch (error) {
          for (const one of group) one.reject(error);
        }
      }
    } finally {
      busy = false;
    }
  };
  return (item) =>
    new Promise<R>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      void drain();
    });
}
