import { diag } from '@opentelemetry/api';
import type { LangfuseClient } from '@langfuse/client';
import { redactUrl, scrubSecrets, type ExportLogger } from '@voicetrace/exporters';
import { langfuseApi } from './api-client.js';
import type { LangfuseConfig } from './types.js';

/** One agent turn, as the session model knows it. */
export interface TurnScoreRecord {
  /** The trace the turn is in (32 hex). */
  traceId: string;
  /** The `agent_turn` span id (16 hex): the scores attach to that observation. */
  observationId: string;
  /** End of the user's speech to the agent's first audio, in seconds. */
  e2eSeconds: number;
  /** The latency the turn should meet, in seconds. */
  latencyTargetSeconds: number;
  /** The user interrupted the reply. */
  interrupted: boolean;
}

/** One call, as the session model knows it. Give `sessionId` (a session score) or `traceId` (a trace score). */
export interface SessionScoreRecord {
  traceId?: string | undefined;
  sessionId?: string | undefined;
  /** 95th percentile of the user's wait (e2e latency) over the call's turns, in seconds. */
  p95WaitSeconds: number;
  /** Estimated cost of the call, in USD. */
  costUsd: number;
  /** How many times each quality signal fired in the call (only those that did). */
  signals?: Readonly<Record<string, number>> | undefined;
}

/** A conversation quality signal on one turn (SIGNALS in @voicetrace/conventions). */
export interface SignalScoreRecord {
  traceId: string;
  /** The turn's agent turn observation. */
  observationId: string;
  /** The signal's name (`dead_air`, `cut_off`, ...). */
  signal: string;
  /** Its size, for signals measured in seconds. */
  seconds?: number | undefined;
  /** For a repetition: the turn it repeats (never the words). */
  repeatsTurn?: number | undefined;
  /** For dead air: in the wait, or inside the reply (its audio stopped). */
  where?: 'wait' | 'reply' | undefined;
}

/** Score names {@link LangfuseScores} posts, one place to read them from. */
export const LANGFUSE_SCORE_NAMES = {
  /** `voice.signal.<signal>` on the turn: seconds (dead air, talk-over) or 1. */
  signalPrefix: 'voice.signal.',
  /** `voice.session.signal.<signal>` on the session: how many times it fired. */
  sessionSignalPrefix: 'voice.session.signal.',
  turnE2e: 'voice.turn.e2e_latency_s',
  turnTargetMet: 'voice.turn.latency_target_met',
  turnInterrupted: 'voice.turn.interrupted',
  sessionP95Wait: 'voice.session.p95_wait_s',
  sessionCost: 'voice.session.cost_usd',
} as const;

/** Options of {@link LangfuseScores}. */
export interface LangfuseScoresOptions {
  /** LangFuse environment of the scores (default: LangFuse's `default`). */
  environment?: string | undefined;
  /** Per request timeout, in seconds. Default 5. */
  timeoutSeconds?: number | undefined;
  /** Retries of 408, 429 and 5xx answers (LangFuse's client backs off, honouring `Retry-After`). Default 2. */
  maxRetries?: number | undefined;
  /** Where the one error message goes besides `diag.error`. Default `console.error`. */
  logger?: ExportLogger | undefined;
}

/** What happened to the scores so far. */
export interface LangfuseScoresStats {
  /** Accepted by LangFuse. */
  posted: number;
  /** Rejected by LangFuse or not delivered (network, timeout) after the retries. */
  failed: number;
  /** Not sent: the record could not make a valid score (missing id, value not a finite number). */
  invalid: number;
  /** Requests in flight. */
  pending: number;
}

type CreateScore = Parameters<LangfuseClient['api']['scores']['create']>[0];

/**
 * Posts voicetrace's scores to LangFuse's public API (`POST /api/public/scores`) with `@langfuse/client`:
 * per turn the e2e latency (NUMERIC, seconds), whether it met its target (BOOLEAN) and whether it was
 * interrupted (BOOLEAN), attached to the `agent_turn` observation; per call the p95 wait (NUMERIC,
 * seconds) and the cost (NUMERIC, USD), on the session (or the trace).
 *
 * Never throws into the caller: every method returns at once, failures are counted (`stats()`) and the
 * first one is logged once. `flush()` waits for the requests in flight.
 */
export class LangfuseScores {
  private readonly client: LangfuseClient;
  private readonly pending = new Set<Promise<void>>();
  private readonly counts = { posted: 0, failed: 0, invalid: 0 };
  private readonly logger: ExportLogger;
  private reported = false;
  /** The keys and the Basic credential made of them: a server echoing the request must not print them. */
  private readonly secrets: string[];

  constructor(
    config: LangfuseConfig,
    private readonly options: LangfuseScoresOptions = {},
  ) {
    ({ client: this.client, secrets: this.secrets } = langfuseApi(config));
    this.logger = options.logger ?? ((message) => console.error(message));
  }

  /** Scores one agent turn. */
  turn(record: TurnScoreRecord): void {
    this.guard(() => {
      const target = { traceId: record.traceId, observationId: record.observationId };
      if (!isId(record.traceId) || !isId(record.observationId) || !isSeconds(record.e2eSeconds) || !isSeconds(record.latencyTargetSeconds)) {
        this.counts.invalid += 1;
        return;
      }
      const met = record.e2eSeconds <= record.latencyTargetSeconds;
      this.post({ ...target, name: LANGFUSE_SCORE_NAMES.turnE2e, dataType: 'NUMERIC', value: record.e2eSeconds, comment: 'seconds from the end of user speech to the first agent audio' });
      this.post({
        ...target,
        name: LANGFUSE_SCORE_NAMES.turnTargetMet,
        dataType: 'BOOLEAN',
        value: met ? 1 : 0,
        comment: `e2e ${record.e2eSeconds.toFixed(3)} s ${met ? '<=' : '>'} target ${record.latencyTargetSeconds.toFixed(3)} s`,
      });
      this.post({ ...target, name: LANGFUSE_SCORE_NAMES.turnInterrupted, dataType: 'BOOLEAN', value: record.interrupted === true ? 1 : 0 });
    });
  }

  /** Scores one quality signal on its turn's observation: its seconds, or 1 for a flag. */
  signal(record: SignalScoreRecord): void {
    this.guard(() => {
      if (!isId(record.traceId) || !isId(record.observationId) || !/^[a-z_]{1,40}$/.test(record.signal) || (record.seconds !== undefined && !isSeconds(record.seconds))) {
        this.counts.invalid += 1;
        return;
      }
      const target = { traceId: record.traceId, observationId: record.observationId, name: `${LANGFUSE_SCORE_NAMES.signalPrefix}${record.signal}` };
      if (record.seconds !== undefined) this.post({ ...target, dataType: 'NUMERIC', value: record.seconds, comment: record.where === 'reply' ? 'seconds inside the reply' : 'seconds' });
      else this.post({ ...target, dataType: 'BOOLEAN', value: 1, ...(record.repeatsTurn !== undefined ? { comment: `repeats turn ${record.repeatsTurn}` } : {}) });
    });
  }

  /** Scores one call: on its session when `sessionId` is given, else on its trace. */
  session(record: SessionScoreRecord): void {
    this.guard(() => {
      // LangFuse takes exactly one of traceId / sessionId (applyScoreValidation)
      const target = isId(record.sessionId) ? { sessionId: record.sessionId } : isId(record.traceId) ? { traceId: record.traceId } : undefined;
      if (!target || !isSeconds(record.p95WaitSeconds) || !(Number.isFinite(record.costUsd) && record.costUsd >= 0)) {
        this.counts.invalid += 1;
        return;
      }
      this.post({ ...target, name: LANGFUSE_SCORE_NAMES.sessionP95Wait, dataType: 'NUMERIC', value: record.p95WaitSeconds, comment: '95th percentile of the e2e latency over the turns, seconds' });
      this.post({ ...target, name: LANGFUSE_SCORE_NAMES.sessionCost, dataType: 'NUMERIC', value: record.costUsd, comment: 'estimated cost at table prices, USD' });
      for (const [signal, count] of Object.entries(record.signals ?? {})) {
        if (/^[a-z_]{1,40}$/.test(signal) && Number.isInteger(count) && count > 0) this.post({ ...target, name: `${LANGFUSE_SCORE_NAMES.sessionSignalPrefix}${signal}`, dataType: 'NUMERIC', value: count });
      }
    });
  }

  /** Waits for every request in flight. Never rejects. */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Counters since construction. */
  stats(): LangfuseScoresStats {
    return { ...this.counts, pending: this.pending.size };
  }

  private post(body: CreateScore): void {
    const request: CreateScore = this.options.environment ? { ...body, environment: this.options.environment } : body;
    const sent = this.client.api.scores
      .create(request, { timeoutInSeconds: this.options.timeoutSeconds ?? 5, maxRetries: this.options.maxRetries ?? 2 })
      .then(
        () => {
          this.counts.posted += 1;
        },
        (error: unknown) => {
          this.counts.failed += 1;
          this.reportOnce(request, error);
        },
      )
      .finally(() => this.pending.delete(sent));
    this.pending.add(sent);
  }

  private guard(run: () => void): void {
    try {
      run();
    } catch (error) {
      this.counts.failed += 1;
      this.reportOnce(undefined, error);
    }
  }

  private reportOnce(request: CreateScore | undefined, error: unknown): void {
    if (this.reported) return;
    this.reported = true;
    const detail = error as { statusCode?: number; body?: unknown; message?: string };
    const status = detail.statusCode !== undefined ? ` (HTTP ${detail.statusCode}${detail.body ? `: ${scrubSecrets(JSON.stringify(detail.body), this.secrets).slice(0, 300)}` : ''})` : '';
    const message = scrubSecrets(
      redactUrl(
        `voicetrace: LangFuse scores failed${request ? ` for ${request.name}` : ''}${status}: ${detail.message ?? String(error)}. ` +
          'Further failures are only counted (LangfuseScores.stats()).',
      ),
      this.secrets,
    );
    diag.error(message);
    try {
      this.logger(message);
    } catch {
      // a broken logger must not break scoring
    }
  }
}

function isId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function isSeconds(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}
