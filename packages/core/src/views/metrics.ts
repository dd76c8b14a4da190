import { ValueType, type Attributes, type Counter, type Histogram, type Meter, type ObservableCounter, type ObservableResult, type UpDownCounter } from '@opentelemetry/api';
import {
  DROP_REASONS,
  EXPORTER_DROP_REASONS,
  LATENCY_STAGES,
  METRIC,
  METRIC_SPECS,
  METRIC_ATTR as A,
  WAIT_CONTRIBUTIONS,
  metricOptions,
  metricSpec,
  waitMetricName,
  type MetricSpec,
  type Stage,
  type WaitKey,
  type WaitOwner,
} from '@voicetrace/conventions';
import type { DropCounters } from '../counters.js';
import type { EouMetric, InputQuality, InterruptionMetric, LlmMetric, ModelRef, RealtimeMetric, SttMetric, TtsMetric, VadMetric } from '../events.js';
import type { LatencyBreakdown } from '../latency.js';
import type { ErrorRecord, HandoffRecord, InterruptionRecord, ReplyRecord, SessionModelObserver, SessionSnapshot, TurnRecord } from '../model/types.js';
import { DEFAULT_LIMITS } from '../validate.js';

/**
 * The metrics view of the session model: the OpenTelemetry instruments of
 * METRICS.md (packages/conventions/src/metrics.ts), recorded through the OTel
 * metrics API only (a `Meter`; the SDK, readers and exporters are the
 * binding's). One {@link SessionMetrics} per session observes its model; the
 * instruments are created once per `Meter` and shared by every session, and
 * every attribute is one of the instrument's allowed keys with a bounded value
 * (agent, provider, model, stage, reason): never a session, speech or user id.
 *
 * What is recorded when:
 * - a reply played (`onReplyComplete`): the six `lk.agents.turn.*` histograms
 *   from its latency, and, when it has a wait breakdown, every
 *   `voicetrace.wait.<key>` histogram (0 for a key absent from it);
 * - a reply the user heard, played or stopped by a barge-in (the model's
 *   `replyCount` and `interruptions`, COUNT_DEFINITIONS): `voicetrace.turns`
 *   once, `voicetrace.interruptions` once if the user stopped it (so
 *   interruptions never exceed turns). A reply cut off before its first audio
 *   is neither;
 * - an error (`onError`: the SDK's error events and failed tool calls, as the
 *   model counts them): `voicetrace.errors` by stage and type;
 * - a metered request was counted (`onUsage`, duplicates of the SDK's TTS
 *   stream adapter left out): the `lk.agents.usage.*` counters, requests and
 *   cost by stage, provider and model;
 * - an input failed validation (its `quality`): `voicetrace.implausible_values`
 *   by field and reason, and nothing in any histogram. A value that reaches a
 *   histogram is finite, non-negative and below the step limit, or it is
 *   counted there too instead;
 * - the session started (construction) and ended: `voicetrace.sessions.*`.
 *
 * The drop counters of a setup and its exporters' losses are process-wide:
 * {@link observeVoiceTraceCounters} reports them (observable counters, every
 * reason from 0, so dashboards read 0 rather than "no data").
 */

/** An instrument of METRICS.md, created with its documented options. */
function spec(name: string): MetricSpec {
  const found = metricSpec(name);
  if (!found) throw new Error(`voicetrace: no metric spec for ${name}`);
  return found;
}

function options(s: MetricSpec): ReturnType<typeof metricOptions> & { valueType: ValueType } {
  return { ...metricOptions(s), valueType: s.valueType === 'int' ? ValueType.INT : ValueType.DOUBLE };
}

/**
 * The per-turn latency histograms (METRIC_SPECS with `latency`, in their order), with the figure
 * each records, its field name in the implausible-value counter (the instrument's last name part,
 * as LiveKit names the field: `e2e_latency`, `end_of_turn_delay`) and whose model it is attributed to.
 */
const TURN_HISTOGRAMS = METRIC_SPECS.flatMap(({ name, latency }) => {
  const figure = LATENCY_STAGES.find((stage) => stage.key === latency?.stage);
  return latency && figure ? [{ name, field: name.slice(name.lastIndexOf('.') + 1), pick: (l: LatencyBreakdown) => l[figure.field], owner: latency.attributedTo }] : [];
});

type Owner = NonNullable<MetricSpec['latency']>['attributedTo'];

/** Attribute sets one session keeps for reuse (far above what a call makes: agents x models x stages). */
const MAX_ATTRIBUTE_SETS = 256;

/** The instruments of METRICS.md on one meter. */
interface Instruments {
  turn: Map<string, Histogram>;
  wait: Map<WaitKey, Histogram>;
  usage: Record<UsageKey, Counter>;
  sessionsStarted: Counter;
  sessionsActive: UpDownCounter;
  turns: Counter;
  interruptions: Counter;
  requests: Counter;
  cost: Counter;
  errors: Counter;
  implausible: Counter;
  droppedInputs: ObservableCounter;
  exporterDroppedSpans: ObservableCounter;
}

const USAGE = {
  llmInput: METRIC.USAGE_LLM_INPUT_TOKENS,
  llmInputCached: METRIC.USAGE_LLM_INPUT_CACHED_TOKENS,
  llmOutput: METRIC.USAGE_LLM_OUTPUT_TOKENS,
  llmInputAudio: METRIC.USAGE_LLM_INPUT_AUDIO_TOKENS,
  llmInputText: METRIC.USAGE_LLM_INPUT_TEXT_TOKENS,
  llmOutputAudio: METRIC.USAGE_LLM_OUTPUT_AUDIO_TOKENS,
  llmOutputText: METRIC.USAGE_LLM_OUTPUT_TEXT_TOKENS,
  llmSessionDuration: METRIC.USAGE_LLM_SESSION_DURATION,
  ttsCharacters: METRIC.USAGE_TTS_CHARACTERS,
  ttsAudioDuration: METRIC.USAGE_TTS_AUDIO_DURATION,
  sttAudioDuration: METRIC.USAGE_STT_AUDIO_DURATION,
  interruptionRequests: METRIC.USAGE_INTERRUPTION_NUM_REQUESTS,
} as const;
type UsageKey = keyof typeof USAGE;

/** Instruments are created once per meter: every session (and setup) on it shares them. */
const byMeter = new WeakMap<Meter, Instruments>();

/** The instruments of METRICS.md on `meter`, created on first use. */
function instrumentsOf(meter: Meter): Instruments {
  let found = byMeter.get(meter);
  if (found) return found;
  const histogram = (name: string): Histogram => meter.createHistogram(name, options(spec(name)));
  const counter = (name: string): Counter => meter.createCounter(name, options(spec(name)));
  found = {
    turn: new Map(TURN_HISTOGRAMS.map((h) => [h.name, histogram(h.name)])),
    wait: new Map(WAIT_CONTRIBUTIONS.map((c) => [c.key, histogram(waitMetricName(c.key))])),
    usage: Object.fromEntries(Object.entries(USAGE).map(([key, name]) => [key, counter(name)])) as Record<UsageKey, Counter>,
    sessionsStarted: counter(METRIC.SESSIONS_STARTED),
    sessionsActive: meter.createUpDownCounter(METRIC.SESSIONS_ACTIVE, options(spec(METRIC.SESSIONS_ACTIVE))),
    turns: counter(METRIC.TURNS),
    interruptions: counter(METRIC.INTERRUPTIONS),
    requests: counter(METRIC.REQUESTS),
    cost: counter(METRIC.COST),
    errors: counter(METRIC.ERRORS),
    implausible: counter(METRIC.IMPLAUSIBLE_VALUES),
    droppedInputs: meter.createObservableCounter(METRIC.DROPPED_INPUTS, options(spec(METRIC.DROPPED_INPUTS))),
    exporterDroppedSpans: meter.createObservableCounter(METRIC.EXPORTER_DROPPED_SPANS, options(spec(METRIC.EXPORTER_DROPPED_SPANS))),
  };
  byMeter.set(meter, found);
  return found;
}

/** Drops `undefined` values: only set keys become attributes. */
function attrs(values: Record<string, string | undefined>): Attributes {
  const out: Attributes = {};
  for (const key in values) {
    const value = values[key];
    if (value !== undefined && value !== '') out[key] = value;
  }
  return out;
}

type Ref = Partial<ModelRef> | undefined;
type QualityMetric = { quality?: InputQuality | undefined };
type UsageMetric = LlmMetric | TtsMetric | SttMetric | RealtimeMetric | InterruptionMetric;

/** Options of {@link SessionMetrics}. */
export interface SessionMetricsOptions {
  /** Where the instruments live (`meterProvider.getMeter('voicetrace')`); created once per meter. */
  meter: Meter;
  /** `deployment.environment.name` on every data point (also put it on the resource). */
  environment?: string | undefined;
  /**
   * The agent in control now (the engine's model knows it, `() => engine.model.currentAgent`):
   * usage, requests, cost and errors are attributed to it. Without it, the agent of the last
   * reply or handoff this view saw.
   */
  currentAgent?: (() => string | undefined) | undefined;
}

/**
 * The metrics of one session: observe its model with
 * `engine.observe(new SessionMetrics({ meter }))`. Counts the session as
 * started (and active) when constructed, and no longer active when the session
 * ends (or {@link SessionMetrics.close} is called). Never throws.
 */
export class SessionMetrics implements SessionModelObserver {
  private readonly instruments: Instruments;
  private readonly environment: string | undefined;
  private readonly sessionAttributes: Attributes;
  /** Replies already counted as turns (played, or stopped by a barge-in). */
  private readonly countedReplies = new WeakSet<ReplyRecord>();
  /** Inputs whose quality flags were already counted. */
  private readonly countedQuality = new WeakSet<object>();
  /** The provider/model last used per stage, for errors (which do not say). */
  private readonly lastModel = new Map<Stage, ModelRef>();
  /** A realtime connection's cumulative seconds reported so far, per provider/model. */
  private readonly realtimeSeconds = new Map<string, number>();
  private lastAgent: string | undefined;
  private active = true;
  /** Counter series this session already added its 0 to, by their (shared) attribute sets. */
  private readonly zeroed = new Map<Counter, WeakSet<Attributes>>();
  /**
   * Attribute sets made so far, by their values: a turn records about thirty data points over a
   * handful of sets, and each new object would be garbage right after the SDK hashes it. Bounded:
   * the values are bounded by design (agent, provider, model, stage), and the cache is cleared past
   * {@link MAX_ATTRIBUTE_SETS} all the same. The sets are shared, never mutated.
   */
  private readonly attributeSets = new Map<string, Attributes>();

  constructor(private readonly options: SessionMetricsOptions) {
    this.instruments = instrumentsOf(options.meter);
    this.environment = options.environment;
    this.sessionAttributes = attrs({ [A.ENVIRONMENT]: options.environment });
    this.instruments.sessionsStarted.add(1, this.sessionAttributes);
    this.instruments.sessionsActive.add(1, this.sessionAttributes);
  }

  /** The session is over for the metrics (also done when the session ends). Idempotent. */
  close(): void {
    if (!this.active) return;
    this.active = false;
    this.instruments.sessionsActive.add(-1, this.sessionAttributes);
  }

  // ---- observer ---------------------------------------------------------------------------

  onReplyComplete(reply: ReplyRecord, turn: TurnRecord): void {
    const latency = reply.latency;
    if (reply.agent) this.lastAgent = reply.agent;
    this.countReply(reply);
    this.countTurnQuality(turn);
    if (!latency) return;
    const agent = reply.agent ?? this.agent();
    const owners: Record<Owner, Ref> = { llm: replyLlm(reply), tts: replyTts(reply), stt: turn.user?.stt[0]?.metric };
    for (const h of TURN_HISTOGRAMS) {
      const value = h.pick(latency);
      if (value === undefined) continue;
      this.recordLatency(this.instruments.turn.get(h.name)!, value, h.field, this.lkAttributes(owners[h.owner], agent));
    }
    if (!latency.wait.length) return;
    const waited = new Map<WaitKey, number>();
    for (const w of latency.wait) waited.set(w.key, (waited.get(w.key) ?? 0) + w.seconds);
    // every key on every turn that has a breakdown, 0 when absent: the per-key means stack up to the mean wait
    for (const c of WAIT_CONTRIBUTIONS) {
      let attributes: Attributes;
      if (c.owner.startsWith('provider:')) {
        const owner = waitOwner(c.owner, c.key, reply, turn);
        attributes = this.attributeSet('w', { [A.PROVIDER]: owner?.provider, [A.MODEL]: owner?.model, [A.AGENT]: agent, [A.ENVIRONMENT]: this.environment });
      } else attributes = this.agentAttributes(agent);
      this.recordLatency(this.instruments.wait.get(c.key)!, waited.get(c.key) ?? 0, `wait.${c.key}`, attributes);
    }
  }

  onUserTurnComplete(turn: TurnRecord): void {
    this.countTurnQuality(turn);
  }

  onUsage(metric: UsageMetric, counted: boolean, cost: number | undefined): void {
    const stage = metric.kind;
    const ref: Ref = { provider: metric.provider, model: metric.model };
    const agent = this.agent();
    this.countQuality(metric, stage, ref, agent);
    if (!counted) return;
    if (metric.provider && metric.model) this.lastModel.set(stage, { provider: metric.provider, model: metric.model });
    const lk = this.lkAttributes(ref, agent);
    const u = this.instruments.usage;
    switch (metric.kind) {
      case 'llm':
        u.llmInput.add(metric.inputTokens, lk);
        u.llmInputCached.add(metric.cachedInputTokens, lk);
        u.llmOutput.add(metric.outputTokens, lk);
        break;
      case 'realtime': {
        u.llmInput.add(metric.inputTokens, lk);
        u.llmInputCached.add(metric.inputCachedTokens, lk);
        u.llmOutput.add(metric.outputTokens, lk);
        u.llmInputAudio.add(metric.inputAudioTokens, lk);
        u.llmInputText.add(metric.inputTextTokens, lk);
        u.llmOutputAudio.add(metric.outputAudioTokens, lk);
        u.llmOutputText.add(metric.outputTextTokens, lk);
        // the SDK reports the connection's seconds so far: add what is new
        const key = `${metric.provider}|${metric.model}`;
        const seen = this.realtimeSeconds.get(key) ?? 0;
        if (metric.sessionDuration !== undefined && metric.sessionDuration > seen) {
          u.llmSessionDuration.add(metric.sessionDuration - seen, lk);
          this.realtimeSeconds.set(key, metric.sessionDuration);
        }
        break;
      }
      case 'tts':
        u.ttsCharacters.add(metric.characters, lk);
        u.ttsAudioDuration.add(metric.audioDuration, lk);
        break;
      case 'stt':
        u.sttAudioDuration.add(metric.audioDuration, lk);
        break;
      case 'interruption':
        u.interruptionRequests.add(metric.requests, lk);
        break;
    }
    const perModel = this.perModelAttributes(stage, ref, agent);
    this.instruments.requests.add(1, perModel);
    // a request's errors are 0 until one happens: the error ratio reads 0, not "no data" (adding 0
    // creates the series; once per series is enough)
    this.zeroOnce(this.instruments.errors, perModel);
    if (cost !== undefined && Number.isFinite(cost) && cost >= 0) this.instruments.cost.add(cost, perModel);
  }

  onInterruption(interruption: InterruptionRecord, reply: ReplyRecord | undefined): void {
    if (!interruption.stoppedAgent || !reply) return;
    this.countReply(reply);
  }

  onError(error: ErrorRecord): void {
    // the SDK's error type names the stage (`llm_error`); older shapes only have the failing plugin's name
    const stage = stageOfSource(error.type ?? '') ?? stageOfSource(error.source);
    const ref = stage ? this.lastModel.get(stage) : undefined;
    // the error's kind, never its message
    const type = error.type;
    this.instruments.errors.add(1, {
      ...this.perModelAttributes(stage, ref, this.agent()),
      ...attrs({ [A.ERROR_TYPE]: typeof type === 'string' ? type : undefined }),
    });
  }

  onHandoff(handoff: HandoffRecord): void {
    this.lastAgent = handoff.toAgent;
  }

  onSessionEnd(_snapshot: SessionSnapshot): void {
    this.close();
  }

  // ---- helpers ----------------------------------------------------------------------------

  private agent(): string | undefined {
    try {
      return this.options.currentAgent?.() ?? this.lastAgent;
    } catch {
      return this.lastAgent;
    }
  }

  /** The agent's keys alone (turns, interruptions, waits that no provider owns). */
  private agentAttributes(agent: string | undefined): Attributes {
    return this.attributeSet('a', { [A.AGENT]: agent, [A.ENVIRONMENT]: this.environment });
  }

  /** LiveKit's keys on `lk.agents.*`. */
  private lkAttributes(ref: Ref, agent: string | undefined): Attributes {
    return this.attributeSet('lk', { [A.MODEL_PROVIDER]: ref?.provider, [A.MODEL_NAME]: ref?.model, [A.AGENT]: agent, [A.ENVIRONMENT]: this.environment });
  }

  private perModelAttributes(stage: Stage | undefined, ref: Ref, agent: string | undefined): Attributes {
    return this.attributeSet('pm', { [A.STAGE]: stage, [A.PROVIDER]: ref?.provider, [A.MODEL]: ref?.model, [A.AGENT]: agent, [A.ENVIRONMENT]: this.environment });
  }

  /** {@link attrs} of `values`, the same object each time for the same values (`kind` names the key layout). */
  private attributeSet(kind: string, values: Record<string, string | undefined>): Attributes {
    let key = kind;
    for (const name in values) key += `\u0000${values[name] ?? ''}`;
    let found = this.attributeSets.get(key);
    if (!found) {
      if (this.attributeSets.size >= MAX_ATTRIBUTE_SETS) this.attributeSets.clear();
      found = attrs(values);
      this.attributeSets.set(key, found);
    }
    return found;
  }

  /**
   * Adds 0 to a counter's series the first time this session sees it (so it reads 0, not "no data").
   * `attributes` is an {@link attributeSet}: the same object for the same series (a set made again
   * after the cache is cleared adds another 0, which changes nothing).
   */
  private zeroOnce(counter: Counter, attributes: Attributes): void {
    let seen = this.zeroed.get(counter);
    if (!seen) this.zeroed.set(counter, (seen = new WeakSet()));
    if (seen.has(attributes)) return;
    seen.add(attributes);
    counter.add(0, attributes);
  }

  /** A reply counts once as a turn; if the user stopped it, once as an interruption. */
  private countReply(reply: ReplyRecord): void {
    if (this.countedReplies.has(reply)) return;
    this.countedReplies.add(reply);
    const agent = reply.agent ?? this.agent();
    const common = this.agentAttributes(agent);
    this.instruments.turns.add(1, common);
    if (reply.interruptions.some((i) => i.stoppedAgent)) this.instruments.interruptions.add(1, common);
    else this.zeroOnce(this.instruments.interruptions, common);
  }

  /** The user side of a turn: its EOU and VAD reports' flags (STT's come through onUsage). */
  private countTurnQuality(turn: TurnRecord): void {
    const user = turn.user;
    if (!user) return;
    const agent = this.agent();
    if (user.eou) this.countQuality(user.eou, 'eou', undefined, agent);
    for (const vad of user.vad) this.countQuality(vad, 'vad', undefined, agent);
  }

  /**
   * An input's implausible fields, each input once, by field and reason. LLM and TTS
   * requests are counted from their metrics events (onUsage), not again from the copy
   * the SDK also attaches to their spans.
   */
  private countQuality(metric: QualityMetric & (UsageMetric | EouMetric | VadMetric), stage: Stage, ref: Ref, agent: string | undefined): void {
    const quality = metric.quality;
    // nothing to count on a clean input: it is not remembered either
    if (!quality?.implausible.length) return;
    if (this.countedQuality.has(metric)) return;
    this.countedQuality.add(metric);
    for (const field of quality.implausible) {
      this.instruments.implausible.add(1, {
        ...attrs({ [A.FIELD]: field, [A.DROP_REASON]: quality.reasons?.[field] ?? 'implausible_value' }),
        ...this.perModelAttributes(stage, ref, agent),
      });
    }
  }

  /**
   * Records one latency, or counts it as implausible if it is not a duration: a histogram
   * only ever holds finite, non-negative values below the step limit.
   */
  private recordLatency(histogram: Histogram, value: number, field: string, attributes: Attributes): void {
    // the gapless breakdown's last slice absorbs float residue: -1e-12 is 0
    const seconds = value < 0 && value > -1e-9 ? 0 : value;
    const reason = !Number.isFinite(seconds) ? 'non_finite_value' : seconds < 0 ? 'negative_value' : seconds > DEFAULT_LIMITS.maxStepSeconds ? 'implausible_value' : undefined;
    if (reason) {
      this.instruments.implausible.add(1, { ...attributes, [A.FIELD]: field, [A.DROP_REASON]: reason });
      return;
    }
    histogram.record(seconds, attributes);
  }
}

/** The reply's LLM: the request that spoke (else the first), or its realtime model. */
function replyLlm(reply: ReplyRecord): Ref {
  return (reply.llm.find((s) => s.speakable) ?? reply.llm[0])?.metric ?? reply.realtime[0]?.metric;
}

/** The reply's TTS: its first counted request. */
function replyTts(reply: ReplyRecord): Ref {
  return reply.tts.find((s) => !s.duplicate)?.metric ?? reply.tts[0]?.metric;
}

/** Who a provider-owned wait belongs to (the same provider whether or not the slice occurred). */
function waitOwner(owner: WaitOwner, key: WaitKey, reply: ReplyRecord, turn: TurnRecord): Ref {
  if (owner === 'provider:stt') return turn.user?.stt[0]?.metric;
  if (owner === 'provider:tts') return replyTts(reply);
  if (owner === 'provider:llm') return key === 'llm_tool_step' ? (reply.llm.find((s) => !s.speakable)?.metric ?? replyLlm(reply)) : replyLlm(reply);
  return undefined;
}

/**
 * The stage of an SDK error: its type (`llm_error`, `tts_error`, `realtime_model_error`) or its source
 * (the class name or label of the plugin that failed: `LLM`, `OpenAITTS`, `RealtimeSession`...).
 */
function stageOfSource(source: string): Stage | undefined {
  const s = source.toLowerCase();
  if (s.startsWith('tool')) return 'tool';
  if (s.includes('realtime')) return 'realtime';
  if (s.includes('llm')) return 'llm';
  if (s.includes('tts')) return 'tts';
  if (s.includes('stt')) return 'stt';
  if (s.includes('vad')) return 'vad';
  if (s.includes('interruption')) return 'interruption';
  return undefined;
}

/** Options of {@link observeVoiceTraceCounters}. */
export interface VoiceTraceCountersOptions {
  meter: Meter;
  /** The setup's drop counters (`vt.counters`), reported by reason. */
  counters?: DropCounters | undefined;
  /** Spans each agent-side exporter lost so far, by reason (EXPORTER_DROP_REASONS: every reason the export queue counts). */
  exporterDrops?: (() => Iterable<{ exporter: string; reason: string; spans: number }>) | undefined;
  environment?: string | undefined;
}

/**
 * Reports voicetrace's own losses as observable counters, read at each
 * collection: `voicetrace.dropped_inputs` from the drop counters (every reason,
 * 0 included) and `voicetrace.exporter.dropped_spans` per exporter and reason.
 * Call once per setup; returns a function that stops reporting.
 */
export function observeVoiceTraceCounters(options: VoiceTraceCountersOptions): () => void {
  const instruments = instrumentsOf(options.meter);
  const env = attrs({ [A.ENVIRONMENT]: options.environment });
  const drops = (result: ObservableResult): void => {
    const counters = options.counters;
    if (!counters) return;
    for (const reason of DROP_REASONS) result.observe(counters.get(reason), { ...env, [A.DROP_REASON]: reason });
  };
  const exporters = (result: ObservableResult): void => {
    if (!options.exporterDrops) return;
    try {
      for (const { exporter, reason, spans } of options.exporterDrops()) {
        if (!(EXPORTER_DROP_REASONS as readonly string[]).includes(reason) || !Number.isFinite(spans) || spans < 0) continue;
        result.observe(spans, { ...env, [A.EXPORTER]: exporter, [A.DROP_REASON]: reason });
      }
    } catch {
      // an exporter that cannot say loses nothing here
    }
  };
  instruments.droppedInputs.addCallback(drops);
  instruments.exporterDroppedSpans.addCallback(exporters);
  return () => {
    instruments.droppedInputs.removeCallback(drops);
    instruments.exporterDroppedSpans.removeCallback(exporters);
  };
}
