import { diag } from '@opentelemetry/api';
import type { ExportResponse, IExporterTransport } from '@opentelemetry/otlp-exporter-base';
import { ExportHttpError } from './errors.js';
import type { TransportCounters } from './http-transport.js';
import type { RetryOptions } from './types.js';

/** The OTLP specification's retryable statuses, as the stock exporter uses them. */
export const OTLP_RETRYABLE_STATUSES: readonly number[] = [429, 502, 503, 504];

/** {@link RetryOptions} with every default filled in. */
export type RetryPolicy = Required<RetryOptions>;

/** Fills in the defaults (the stock exporter's numbers) and corrects impossible values. */
export function resolveRetryPolicy(options: RetryOptions = {}): RetryPolicy {
  const positive = (value: number | undefined, fallback: number): number =>
    value !== undefined && Number.isFinite(value) && value >= 0 ? value : fallback;
  return {
    maxAttempts: Math.max(1, Math.floor(positive(options.maxAttempts, 6))),
    initialBackoffMs: positive(options.initialBackoffMs, 1000),
    maxBackoffMs: positive(options.maxBackoffMs, 5000),
    backoffMultiplier: Math.max(1, positive(options.backoffMultiplier, 1.5)),
    jitter: Math.min(1, positive(options.jitter, 0.2)),
    retryableStatuses: options.retryableStatuses ?? OTLP_RETRYABLE_STATUSES,
  };
}

/**
 * Sends again while the answer is `retryable`: after the server's `Retry-After` when it gave one,
 * else after an exponential backoff with jitter. Bounded twice: by `maxAttempts`, and by the export's
 * deadline (a wait that would end past it is not started, as in the stock transport). The final
 * failure carries the number of attempts.
 * @internal
 */
export class RetryingTransport implements IExporterTransport {
  constructor(
    private readonly inner: IExporterTransport,
    private readonly policy: RetryPolicy,
    private readonly counters: TransportCounters,
  ) {}

  async send(data: Uint8Array, timeoutMillis: number): Promise<ExportResponse> {
    const deadline = Date.now() + timeoutMillis;
    let attempts = 1;
    let backoff = this.policy.initialBackoffMs;
    let result = await this.inner.send(data, timeoutMillis);
    while (result.status === 'retryable' && attempts < this.policy.maxAttempts) {
      const wait = result.retryInMillis ?? this.jittered(backoff);
      backoff = Math.min(backoff * this.policy.backoffMultiplier, this.policy.maxBackoffMs);
      const remaining = deadline - Date.now();
      if (wait >= remaining) {
        diag.debug(`voicetrace: not retrying: the next try in ${Math.round(wait)} ms would pass the export deadline (${Math.round(remaining)} ms left)`);
        break;
      }
      await sleep(wait);
      attempts++;
      this.counters.retries++;
      result = await this.inner.send(data, Math.max(1, deadline - Date.now()));
    }
    const error = result.status === 'success' ? undefined : result.error;
    if (error instanceof ExportHttpError) error.attempts = attempts;
    return result;
  }

  shutdown(): void {
    this.inner.shutdown();
  }

  private jittered(backoff: number): number {
    const spread = (Math.random() * 2 - 1) * this.policy.jitter;
    return Math.max(0, Math.min(backoff * (1 + spread), this.policy.maxBackoffMs));
  }
}

// Not unref'd: a pending retry must keep the process alive until shutdown() has awaited it.
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
