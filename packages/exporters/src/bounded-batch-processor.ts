import { context, diag, TraceFlags, type Context } from '@opentelemetry/api';
import { ExportResultCode, globalErrorHandler, suppressTracing, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, Span, SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { positiveIntSetting } from './env.js';
import { ExportTimeoutError } from './errors.js';
import { describeExportFailure, failureReason } from './failure.js';
import { isRetryableExportFailure, oversizedSpansOf } from './retryable.js';
import { SizeEstimator } from './size-estimate.js';
import { exportLoss, lossFromDrops, LOSS_REASONS } from './loss.js';
import { emptyExportStats, readExportStats } from './stats.js';
import type { BoundedBatchOptions, ExportFailureInfo, ExportQueueStats, QueuedExportStats, QueueDropReason } from './types.js';

/** Default span bound: the OTel specification's `OTEL_BSP_MAX_QUEUE_SIZE` default. */
export const DEFAULT_MAX_QUEUE_SIZE = 2048;
/** Default byte bound (estimated OTLP size of the spans held): 8 MiB. */
export const DEFAULT_MAX_QUEUE_BYTES = 8 * 1024 * 1024;
/** Default spans per export: the specification's `OTEL_BSP_MAX_EXPORT_BATCH_SIZE` default. */
export const DEFAULT_MAX_EXPORT_BATCH_SIZE = 512;
/** Default delay between exports, in ms: the specification's `OTEL_BSP_SCHEDULE_DELAY` default. */
export const DEFAULT_SCHEDULED_DELAY_MS = 5000;
/** Default time one export may take, in ms: the specification's `OTEL_BSP_EXPORT_TIMEOUT` default. */
export const DEFAULT_EXPORT_TIMEOUT_MS = 30_000;
/** Default bound of `shutdown()`, in ms: under the 5 s a SIGTERM handler gives it, so the delivery report is final. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 3000;

const DEFAULT_INITIAL_BACKOFF_MS = 1000;
const DEFAULT_MAX_BACKOFF_MS = 15_000;
/** During shutdown, the pause between attempts to a backend that refuses the connection. */
const SHUTDOWN_RETRY_PAUSE_MS = 250;

const DROP_EXPLANATION: Record<QueueDropReason, string> = {
  queue_full: 'the export queue is full (maxQueueSize, OTEL_BSP_MAX_QUEUE_SIZE): the oldest queued spans are dropped to make room',
  queue_bytes_full: 'the export queue is full (maxQueueBytes, VOICETRACE_BSP_MAX_QUEUE_BYTES): the oldest queued spans are dropped to make room',
  oversized: 'a span is larger than the export queue or the request budget allows',
  export_failed: 'the backend refused a batch with a non-retryable error',
  shutdown: 'spans were still queued when shutdown() ran out of time (VOICETRACE_BSP_SHUTDOWN_TIMEOUT)',
  after_shutdown: 'a span ended after shutdown()',
};

interface Entry {
  span: ReadableSpan;
  bytes: number;
  /** Arrival order: export goes oldest first, and a requeued batch keeps its place. */
  seq: number;
}

type Outcome = 'ok' | 'retry' | 'failed' | 'empty' | 'abandoned';

/** A FIFO with O(1) shift (a head index over an array, compacted now and then). */
class Fifo {
  private items: Entry[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  peek(): Entry | undefined {
    return this.items[this.head];
  }

  push(entry: Entry): void {
    this.items.push(entry);
  }

  shift(): Entry | undefined {
    const entry = this.items[this.head];
    if (entry === undefined) return undefined;
    this.items[this.head] = undefined as unknown as Entry;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return entry;
  }

  /** Puts entries back in front (they are older than everything queued). */
  unshiftAll(entries: Entry[]): void {
    if (!entries.length) return;
    this.items = entries.concat(this.items.slice(this.head));
    this.head = 0;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

/**
 * A batching span processor bounded in spans and in bytes, for exporters that may be unreachable
 * for a while (a collector restarting, a network outage), in a process that must not notice.
 *
 * - **Batching** as the stock `BatchSpanProcessor`: an export every `scheduledDelayMillis`, or at
 *   once when `maxExportBatchSize` spans wait; one export in flight at a time; only sampled spans.
 * - **Bounds**: at most `maxQueueSize` spans and `maxQueueBytes` estimated encoded bytes are held
 *   (queued plus in flight).
 * - **Drop policy when full: the oldest queued span goes**, except that a trace's local root
 *   (`agent_session`, or `user_turn` in trace-per-turn mode) goes only when no other span is queued.
 *   Spans in flight are never evicted (they count against the bounds until their export ends): when
 *   everything held is in flight, the newcomer is refused. In a voice agent the newest spans are the call in progress and the session
 *   root ends last, carrying the call's usage, cost and turn count: refusing new spans (the stock
 *   processor's way) would lose exactly the root at the end of a long outage and orphan the whole
 *   call, while the oldest turns are the least useful to whoever looks once the backend is back.
 * - **Outages**: a batch that failed with a retryable error (no connection, timeout, HTTP
 *   429/502/503/504) goes back to the head of the queue and the next export waits an exponential
 *   backoff; a non-retryable failure (400, 401, 413...) drops the batch. So the queue holds the spans
 *   while the backend is away and delivers them when it is back, within its bounds.
 * - **Counts every drop by reason** (`stats().queue`, {@link QueueDropReason}); the first of each
 *   reason is logged once through `diag.warn`.
 * - Exports run inside `suppressTracing`; its timers are unref'd; it never throws; `forceFlush()`
 *   is bounded by `exportTimeoutMillis` (it stops at the first retryable failure: the spans stay
 *   queued) and `shutdown()` by `shutdownTimeoutMillis` (what is left is counted as `shutdown`).
 */
export class BoundedBatchSpanProcessor implements SpanProcessor {
  /** The span bound in force. */
  readonly maxQueueSize: number;
  /** The byte bound in force. */
  readonly maxQueueBytes: number;
  /** Spans per export in force. */
  readonly maxExportBatchSize: number;
  /** Delay between exports in force, in ms. */
  readonly scheduledDelayMillis: number;
  /** Export timeout in force, in ms. */
  readonly exportTimeoutMillis: number;
  /** Shutdown bound in force, in ms. */
  readonly shutdownTimeoutMillis: number;

  private readonly estimator: SizeEstimator;
  private readonly retry: { initialBackoffMs: number; maxBackoffMs: number } | undefined;
  /** Local roots apart, so that eviction reaches them last. */
  private readonly roots = new Fifo();
  private readonly others = new Fifo();
  private queuedBytes = 0;
  private inFlight: { entries: Entry[]; bytes: number; generation: number } | undefined;
  private generation = 0;
  private exporting: Promise<Outcome> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerDue = 0;
  private backoffMs = 0;
  private backoffUntil = 0;
  private seq = 0;
  /** shutdown() was called: the shutdown drives the exports now (spans still ending are taken while it flushes). */
  private closing = false;
  /** shutdown() finished flushing: later spans are refused (`after_shutdown`). */
  private closed = false;
  private shutdownPromise: Promise<void> | undefined;
  private readonly warned = new Set<QueueDropReason>();
  /** Export attempts as this processor saw them, for exporters that keep no counters. */
  private readonly attempts: { successful: number; failed: number; byReason: Record<string, number>; last?: ExportFailureInfo } = { successful: 0, failed: 0, byReason: {} };
  private readonly counts = {
    handedOver: 0,
    delivered: 0,
    requeued: 0,
    retriedExports: 0,
    peakSpans: 0,
    peakBytes: 0,
    dropped: Object.fromEntries(LOSS_REASONS.map((reason) => [reason, 0])) as Record<QueueDropReason, number>,
  };

  /**
   * @param exporter where batches go
   * @param options bounds, batching and retry; each one wins over its environment variable
   */
  constructor(
    private readonly exporter: SpanExporter,
    options: BoundedBatchOptions = {},
  ) {
    const env = options.env ?? process.env;
    this.maxQueueSize = positiveIntSetting(options.maxQueueSize, env, 'OTEL_BSP_MAX_QUEUE_SIZE', DEFAULT_MAX_QUEUE_SIZE);
    this.maxQueueBytes = positiveIntSetting(options.maxQueueBytes, env, 'VOICETRACE_BSP_MAX_QUEUE_BYTES', DEFAULT_MAX_QUEUE_BYTES);
    let batch = positiveIntSetting(options.maxExportBatchSize, env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', DEFAULT_MAX_EXPORT_BATCH_SIZE);
    if (batch > this.maxQueueSize) {
      diag.warn(`voicetrace: maxExportBatchSize (${batch}) is above maxQueueSize (${this.maxQueueSize}); using ${this.maxQueueSize}`);
      batch = this.maxQueueSize;
    }
    this.maxExportBatchSize = batch;
    this.scheduledDelayMillis = positiveIntSetting(options.scheduledDelayMillis, env, 'OTEL_BSP_SCHEDULE_DELAY', DEFAULT_SCHEDULED_DELAY_MS);
    this.exportTimeoutMillis = positiveIntSetting(options.exportTimeoutMillis, env, 'OTEL_BSP_EXPORT_TIMEOUT', DEFAULT_EXPORT_TIMEOUT_MS);
    this.shutdownTimeoutMillis = positiveIntSetting(options.shutdownTimeoutMillis, env, 'VOICETRACE_BSP_SHUTDOWN_TIMEOUT', DEFAULT_SHUTDOWN_TIMEOUT_MS);
    this.retry =
      options.retry === false
        ? undefined
        : {
            initialBackoffMs: positiveIntSetting(options.retry?.initialBackoffMs, {}, 'retry.initialBackoffMs', DEFAULT_INITIAL_BACKOFF_MS),
            maxBackoffMs: positiveIntSetting(options.retry?.maxBackoffMs, {}, 'retry.maxBackoffMs', DEFAULT_MAX_BACKOFF_MS),
          };
    this.estimator = new SizeEstimator(options.protocol === 'http/json');
  }

  onStart(_span: Span, _parentContext: Context): void {}

  /** Queues a sampled span, evicting the oldest queued ones when a bound is reached. Never throws. */
  onEnd(span: ReadableSpan): void {
    try {
      if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
      this.counts.handedOver++;
      if (this.closed) return this.drop('after_shutdown', 1);
      const bytes = this.estimate(span);
      if (bytes > this.maxQueueBytes) {
        // a span dropped here never reaches the size limiter, which forgets the others' estimates
        this.estimator.forget(span);
        return this.drop('oversized', 1, `span "${span.name}" is about ${bytes} bytes`);
      }
      // make room: the bounds hold the spans queued and in flight; only queued ones can go
      for (;;) {
        const overCount = this.heldSpans + 1 > this.maxQueueSize;
        const overBytes = this.heldBytes + bytes > this.maxQueueBytes;
        if (!overCount && !overBytes) break;
        const reason: QueueDropReason = overCount ? 'queue_full' : 'queue_bytes_full';
        const victim = this.others.shift() ?? this.roots.shift();
        if (!victim) {
          this.estimator.forget(span);
          return this.drop(reason, 1);
        }
        this.estimator.forget(victim.span);
        this.queuedBytes -= victim.bytes;
        this.drop(reason, 1);
      }
      const entry: Entry = { span, bytes, seq: this.seq++ };
      (isLocalRoot(span) ? this.roots : this.others).push(entry);
      this.queuedBytes += bytes;
      this.counts.peakSpans = Math.max(this.counts.peakSpans, this.heldSpans);
      this.counts.peakBytes = Math.max(this.counts.peakBytes, this.heldBytes);
      this.schedule();
    } catch (error) {
      globalErrorHandler(error as Error);
    }
  }

  /**
   * Exports what is queued now, batch after batch, within `exportTimeoutMillis`. Stops early when the
   * backend is not taking spans (a retryable failure): those stay queued for the next attempt.
   * Resolves in every case.
   */
  async forceFlush(): Promise<void> {
    if (this.shutdownPromise) return this.shutdownPromise;
    try {
      const deadline = Date.now() + this.exportTimeoutMillis;
      const upTo = this.seq;
      while (Date.now() < deadline) {
        const outcome = this.exporting ? await raceDeadline(this.exporting, deadline) : this.hasQueuedBefore(upTo) ? await raceDeadline(this.exportNext(), deadline) : 'empty';
        if (outcome === 'empty' || outcome === 'retry' || outcome === 'timeout') break;
      }
      await raceDeadline(Promise.resolve(this.exporter.forceFlush?.()), deadline);
    } catch (error) {
      globalErrorHandler(error as Error);
    }
  }

  /**
   * Exports what is queued within `shutdownTimeoutMillis` (retrying a backend that refuses the
   * connection; spans that end meanwhile, as a call winds down, are taken and sent too), then stops
   * taking spans, counts what is left as `shutdown`, and shuts the exporter down (not waiting for it
   * past the bound). Idempotent; resolves in every case.
   */
  shutdown(): Promise<void> {
    this.shutdownPromise ??= this.runShutdown();
    return this.shutdownPromise;
  }

  /**
   * The exporter's counters (requests, retries, failures by reason...) with the queue's outcomes,
   * each span counted once: `exportedSpans` = spans delivered, `lostSpans` / `lostByReason` = spans
   * lost for good, every reason ({@link exportLoss}: refused, oversized, evicted, given up on at
   * shutdown, after shutdown), `failedSpans` = those the backend refused (`export_failed` alone);
   * `queue` has the rest ({@link ExportQueueStats}).
   */
  stats(): QueuedExportStats {
    const inner = readExportStats(this.exporter) ?? {
      ...emptyExportStats(),
      successfulExports: this.attempts.successful,
      failedExports: this.attempts.failed,
      failuresByReason: { ...this.attempts.byReason },
    };
    const queue = this.queueStats();
    const { lostSpans, lostByReason } = exportLoss({ ...inner, queue });
    const stats: QueuedExportStats = { ...inner, exportedSpans: this.counts.delivered, failedSpans: this.counts.dropped.export_failed, queue, lostSpans, lostByReason };
    const lastFailure = inner.lastFailure ?? this.attempts.last;
    if (lastFailure) stats.lastFailure = lastFailure;
    return stats;
  }

  /** The queue's counters alone. */
  queueStats(): ExportQueueStats {
    const dropped = { ...this.counts.dropped };
    return {
      handedOverSpans: this.counts.handedOver,
      deliveredSpans: this.counts.delivered,
      queuedSpans: this.queuedSpans,
      queuedBytes: this.queuedBytes,
      inFlightSpans: this.inFlight?.entries.length ?? 0,
      requeuedSpans: this.counts.requeued,
      retriedExports: this.counts.retriedExports,
      droppedSpans: lossFromDrops(dropped).lostSpans,
      droppedByReason: dropped,
      peakQueuedSpans: this.counts.peakSpans,
      peakQueuedBytes: this.counts.peakBytes,
      maxQueueSize: this.maxQueueSize,
      maxQueueBytes: this.maxQueueBytes,
    };
  }

  // ---- queue ----------------------------------------------------------------------------

  private get queuedSpans(): number {
    return this.roots.length + this.others.length;
  }

  private get heldSpans(): number {
    return this.queuedSpans + (this.inFlight?.entries.length ?? 0);
  }

  private get heldBytes(): number {
    return this.queuedBytes + (this.inFlight?.bytes ?? 0);
  }

  private estimate(span: ReadableSpan): number {
    try {
      return this.estimator.span(span);
    } catch {
      return 1024; // a span the estimator cannot read still counts against the bound
    }
  }

  private hasQueuedBefore(seq: number): boolean {
    const a = this.roots.peek();
    const b = this.others.peek();
    return (a !== undefined && a.seq < seq) || (b !== undefined && b.seq < seq);
  }

  /** The oldest `n` queued entries, roots and others merged by arrival. */
  private take(n: number): Entry[] {
    const batch: Entry[] = [];
    while (batch.length < n) {
      const a = this.roots.peek();
      const b = this.others.peek();
      const next = a && (!b || a.seq < b.seq) ? this.roots.shift() : this.others.shift();
      if (!next) break;
      this.queuedBytes -= next.bytes;
      batch.push(next);
    }
    return batch;
  }

  private requeue(entries: Entry[]): void {
    this.roots.unshiftAll(entries.filter((e) => isLocalRoot(e.span)));
    this.others.unshiftAll(entries.filter((e) => !isLocalRoot(e.span)));
    for (const entry of entries) this.queuedBytes += entry.bytes;
    this.counts.requeued += entries.length;
  }

  private drop(reason: QueueDropReason, spans: number, detail?: string): void {
    if (spans <= 0) return;
    this.counts.dropped[reason] += spans;
    if (this.warned.has(reason)) return;
    this.warned.add(reason);
    diag.warn(`voicetrace: dropped ${spans} span(s): ${DROP_EXPLANATION[reason]}${detail ? ` (${detail})` : ''}; further drops are only counted (stats().queue.droppedByReason)`);
  }

  // ---- exporting ------------------------------------------------------------------------

  /** Starts the next export when it is due: now for a full batch, after the delay otherwise, after the backoff after a failure. */
  private schedule(): void {
    if (this.exporting || this.closing) return;
    if (this.queuedSpans === 0) return this.clearTimer();
    if (this.backoffUntil > Date.now()) return this.setTimerAt(this.backoffUntil);
    if (this.queuedSpans >= this.maxExportBatchSize) {
      this.clearTimer();
      void this.exportNext();
      return;
    }
    if (!this.timer) this.setTimerAt(Date.now() + this.scheduledDelayMillis);
  }

  /** One timer, due at `due` (epoch ms); kept as it is when already due then. */
  private setTimerAt(due: number): void {
    if (this.timer && this.timerDue === due) return;
    this.clearTimer();
    this.timerDue = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.exportNext();
    }, Math.max(0, due - Date.now()));
    this.timer.unref?.();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Exports the oldest batch (or joins the export in flight). Never rejects. */
  private exportNext(): Promise<Outcome> {
    if (this.exporting) return this.exporting;
    const entries = this.take(this.maxExportBatchSize);
    if (!entries.length) return Promise.resolve('empty');
    const work = this.exportBatch(entries)
      .catch((error: unknown): Outcome => {
        // a bug here must not leave the batch held and uncounted
        if (this.inFlight?.entries === entries) {
          this.inFlight = undefined;
          this.drop('export_failed', entries.length, String(error));
        }
        globalErrorHandler(error as Error);
        return 'failed';
      })
      .finally(() => {
        if (this.exporting === work) this.exporting = undefined;
        this.schedule();
      });
    this.exporting = work;
    return work;
  }

  private async exportBatch(entries: Entry[]): Promise<Outcome> {
    const generation = ++this.generation;
    this.inFlight = { entries, bytes: entries.reduce((sum, e) => sum + e.bytes, 0), generation };
    const result = await this.callExporter(entries.map((e) => e.span));
    // shutdown gave up on this batch (and counted it): a late result changes nothing
    if (this.inFlight?.generation !== generation) return 'abandoned';
    this.inFlight = undefined;
    this.countAttempt(result);
    if (result.code === ExportResultCode.SUCCESS) {
      this.counts.delivered += entries.length;
      this.backoffMs = 0;
      this.backoffUntil = 0;
      return 'ok';
    }
    const oversized = oversizedSpansOf(result.error);
    if (oversized !== undefined) {
      // the exporter delivered the others and dropped these for good
      const dropped = Math.min(oversized, entries.length);
      this.counts.delivered += entries.length - dropped;
      this.drop('oversized', dropped, 'over the exporter request budget');
      return 'ok';
    }
    if (this.retry && isRetryableExportFailure(result.error)) {
      this.requeue(entries);
      this.counts.retriedExports++;
      this.backoffMs = this.backoffMs ? Math.min(this.backoffMs * 2, this.retry.maxBackoffMs) : this.retry.initialBackoffMs;
      this.backoffUntil = Date.now() + this.backoffMs * (0.8 + Math.random() * 0.4);
      return 'retry';
    }
    this.drop('export_failed', entries.length, result.error?.message);
    return 'failed';
  }

  private countAttempt(result: ExportResult): void {
    if (result.code === ExportResultCode.SUCCESS) {
      this.attempts.successful++;
      return;
    }
    const failure = describeExportFailure(result.error);
    const reason = failureReason(failure);
    this.attempts.failed++;
    this.attempts.byReason[reason] = (this.attempts.byReason[reason] ?? 0) + 1;
    this.attempts.last = failure;
  }

  /** One export call: inside `suppressTracing`, after pending resource attributes, bounded by the export timeout. Never rejects. */
  private callExporter(spans: ReadableSpan[]): Promise<ExportResult> {
    return new Promise((resolve) => {
      let settled = false;
      const finish = (result: ExportResult): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(result);
      };
      const timer = setTimeout(() => finish({ code: ExportResultCode.FAILED, error: new ExportTimeoutError(this.exportTimeoutMillis) }), this.exportTimeoutMillis);
      timer.unref?.();
      const run = (): void => {
        try {
          context.with(suppressTracing(context.active()), () => this.exporter.export(spans, finish));
        } catch (error) {
          finish({ code: ExportResultCode.FAILED, error: error instanceof Error ? error : new Error(String(error)) });
        }
      };
      const pending = spans.filter((s) => s.resource.asyncAttributesPending && s.resource.waitForAsyncAttributes).map((s) => s.resource.waitForAsyncAttributes!());
      if (!pending.length) return run();
      Promise.all(pending).then(run, (error: unknown) => {
        globalErrorHandler(error as Error);
        run();
      });
    });
  }

  private async runShutdown(): Promise<void> {
    this.closing = true;
    this.clearTimer();
    const deadline = Date.now() + this.shutdownTimeoutMillis;
    try {
      while (Date.now() < deadline) {
        if (!this.exporting && this.queuedSpans === 0) break;
        const outcome = await raceDeadline(this.exporting ?? this.exportNext(), deadline);
        // a backend that refuses the connection may be restarting: try again shortly, within the bound
        if (outcome === 'retry') await raceDeadline(sleep(SHUTDOWN_RETRY_PAUSE_MS), deadline);
      }
    } catch (error) {
      globalErrorHandler(error as Error);
    }
    // from here on spans are refused, and what is left never left the process
    this.closed = true;
    const left = this.heldSpans;
    this.inFlight = undefined;
    this.roots.clear();
    this.others.clear();
    this.queuedBytes = 0;
    this.drop('shutdown', left);
    try {
      // the exporter waits for its own requests in flight: not past the bound (a grace of 100 ms when it is spent)
      await raceDeadline(Promise.resolve(this.exporter.shutdown()), Math.max(deadline, Date.now() + 100));
    } catch (error) {
      globalErrorHandler(error as Error);
    }
  }
}

/** A trace's local root: no parent, or a parent in another process (a W3C traceparent). */
function isLocalRoot(span: ReadableSpan): boolean {
  const parent = span.parentSpanContext;
  return !parent || parent.isRemote === true;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref?.());
}

/** `promise`'s value, or `'timeout'` at `deadline` (epoch ms), whichever comes first. Never rejects. */
async function raceDeadline<T>(promise: Promise<T>, deadline: number): Promise<T | 'timeout'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), Math.max(0, deadline - Date.now()));
    timer.unref?.();
  });
  try {
    return await Promise.race([promise.catch((error: unknown) => (globalErrorHandler(error as Error), 'timeout' as const)), expired]);
  } finally {
    clearTimeout(timer);
  }
}
