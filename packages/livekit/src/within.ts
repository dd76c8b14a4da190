/**
 * Waits for `promise` at most `ms`, then goes on; never rejects (the step's own failures are counted
 * where they happen). The timer is unref'd: it never keeps the process alive.
 */
export function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref();
  });
  return Promise.race([promise.then(() => undefined, () => undefined), timeout]).finally(() => clearTimeout(timer));
}
