/**
 * A time bound plus the caller's abort signals, as one AbortSignal; abortable sleeps; racing a promise
 * against the bound. Internal.
 */

/** Why a budget's signal fired. */
export type StopReason = 'timeout' | 'aborted';

export class Budget {
  readonly startedAt = Date.now();
  readonly deadline: number;
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private readonly timer: ReturnType<typeof setTimeout>;
  private readonly unlisten: (() => void)[] = [];
  private reason: StopReason | undefined;
  private stoppedBoundMs: number | undefined;

  constructor(
    readonly timeoutMs: number,
    signals: readonly (AbortSignal | undefined)[] = [],
  ) {
    this.deadline = this.startedAt + timeoutMs;
    this.signal = this.controller.signal;
    this.timer = setTimeout(() => this.stop('timeout'), timeoutMs);
    this.timer.unref?.();
    for (const s of signals) {
      if (!s) continue;
      if (s.aborted) {
        this.stopFrom(s);
        break;
      }
      const onAbort = (): void => this.stopFrom(s);
      s.addEventListener('abort', onAbort, { once: true });
      this.unlisten.push(() => s.removeEventListener('abort', onAbort));
    }
  }

  /** Why the bound stopped the work, or undefined while it has not. */
  get stopped(): StopReason | undefined {
    return this.reason;
  }

  /** The bound that stopped the work: this budget's, or that of an enclosing budget whose signal was passed in. */
  get boundMs(): number {
    return this.stoppedBoundMs ?? this.timeoutMs;
  }

  remainingMs(): number {
    return Math.max(0, this.deadline - Date.now());
  }

  elapsedMs(): number {
    return Date.now() - this.startedAt;
  }

  /** Releases the timer and the listeners on the caller's signals. */
  dispose(): void {
    clearTimeout(this.timer);
    for (const u of this.unlisten.splice(0)) u();
  }

  /** Resolves after `ms`, or as soon as the budget stops (never rejects). */
  sleep(ms: number): Promise<void> {
    if (this.reason || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        this.signal.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.signal.addEventListener('abort', done, { once: true });
    });
  }

  /**
   * `work`, or a rejection with {@link BudgetStopped} as soon as the budget stops: the bound holds even when
   * the work ignores its abort signal. A late rejection of `work` is swallowed.
   */
  race<T>(work: Promise<T>): Promise<T> {
    work.catch(() => undefined);
    if (this.reason) return Promise.reject(new BudgetStopped(this.reason));
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => reject(new BudgetStopped(this.reason ?? 'aborted'));
      this.signal.addEventListener('abort', onAbort, { once: true });
      work.then(
        (v) => {
          this.signal.removeEventListener('abort', onAbort);
          resolve(v);
        },
        (e: unknown) => {
          this.signal.removeEventListener('abort', onAbort);
          reject(e);
        },
      );
    });
  }

  /** An enclosing budget's timeout is a timeout here too (with its bound), not the caller aborting. */
  private stopFrom(signal: AbortSignal): void {
    const why: unknown = signal.reason;
    if (why instanceof BudgetStopped && why.reason === 'timeout') this.stop('timeout', why.boundMs);
    else this.stop('aborted');
  }

  private stop(reason: StopReason, boundMs?: number): void {
    if (this.reason) return;
    this.reason = reason;
    this.stoppedBoundMs = boundMs;
    this.controller.abort(new BudgetStopped(reason, boundMs ?? this.timeoutMs));
  }
}

/** The rejection of {@link Budget.race} when the budget stopped first. */
export class BudgetStopped extends Error {
  constructor(
    readonly reason: StopReason,
    readonly boundMs?: number,
  ) {
    super(reason === 'timeout' ? 'time bound reached' : 'aborted by the caller');
    this.name = 'BudgetStopped';
  }
}

/**
 * Exponential backoff with jitter: `base * 2^(retry-1)`, times a random factor in [0.5, 1), capped at `capMs`.
 * `retry` starts at 1.
 */
export function backoffDelay(retry: number, baseMs: number, capMs: number): number {
  const exp = Math.min(capMs, baseMs * 2 ** Math.max(0, retry - 1));
  return Math.round(exp * (0.5 + Math.random() / 2));
}

/** A positive finite number, or the default. */
export function positive(value: number | undefined, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
}
