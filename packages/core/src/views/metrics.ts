import { ValueType, type Attributes, type Counter, type Histogram, type Meter, type ObservableCounter, type ObservableResult, type UpDownCounter } from '@opentelemetry/api';
import {
  DROP_REASONS,
  EXPORTER_DROP_REASONS,
  LATENCY_STAGES,
  METRIC,
  METRIC_SPECS,
  SIGNALS,
  SIGNAL_NAMES,
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
import type { ErrorRecord, HandoffRecord, InterruptionRecord, ReplyRecord, SessionModelObserver, SessionSnapshot, SignalRecord, TurnRecord } from '../model/types.js';
import { DEFAULT_LIMITS } from '../validate.js';

/** The signals with a size in seconds (dead air, talk-over): they also have a `voicetrace.signal.duration` series. */
const SIZED_SIGNALS: ReadonlySet<string> = new Set(SIGNALS.filter((s) => s.unit === 's').map((s) => s.name));

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
 * The counters recorded per request or reply (usage, requests, cost, turns,
 * interruptions, errors) are summed here and reported as observable counters
 * (see {@link SummedCounter}); the histograms and the rare counters are the
 * SDK's sync instruments.
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

/** Attribute sets kept for reuse on one meter (far above what a process makes: agents x models x stages x environments). */
const MAX_ATTRIBUTE_SETS = 1024;

/**
 * Series a {@link SummedCounter} keeps apart, its overflow series aside: sdk-metrics' default
 * cardinality limit per instrument is 2000 series, the last its overflow series, and past it the
 * SDK folds an observable counter's new series into that one. Folded here first, the sums stay
 * bounded in memory whatever the model names, and the SDK gets at most its limit.
 */
const MAX_SERIES = 1999;
const OVERFLOW_ATTRIBUTES: Attributes = { 'otel.metric.overflow': true };

/** One series of a {@link SummedCounter}: its attributes and its cumulative sum. */
interface Series {
  readonly attributes: Attributes;
  value: number;
  /** Added to since the last collection. */
  dirty: boolean;
}

/**
 * A counter whose sums voicetrace keeps, reported through an observable counter read at each
 * collection. A sync `Counter.add` makes sdk-metrics hash its attributes (a sort and a
 * `JSON.stringify`) on every record, about a dozen per turn; here a record is an addition to a
 * series the (reused) attribute set already points to, and the SDK hashes each changed series
 * once per collection.
 *
 * What readers get is the sync counter's: the same name, unit, attributes and cumulative value at
 * every collection (the SDK makes deltas from them for a delta reader). Only the series added to
 * since the last collection are observed (an add of 0 included, as a sync add(0) makes a point):
 * a delta reader gets the points a sync counter's interval would have, a cumulative reader keeps
 * every series, and the callbacks run once per collection whichever reader collects. Values the
 * sync counter refuses are refused alike. Shared by the sessions on a meter, so its series outlive
 * them (the SDK keeps a cumulative series as long): keyed by the attribute values, bounded by
 * {@link MAX_SERIES}.
 */
class SummedCounter {
  private readonly series = new Map<string, Series>();
  private dirty: Series[] = [];
  /** What is added past {@link MAX_SERIES}. */
  private overflow: Series | undefined;
  private readonly int: boolean;

  constructor(
    meter: Meter,
    name: string,
    /** This counter's slot in an {@link AttributeSet}'s `series`. */
    readonly slot: number,
  ) {
    const s = spec(name);
    this.int = s.valueType === 'int';
    meter.createObservableCounter(name, options(s)).addCallback((result) => this.observe(result));
  }

  /** The series of these attribute values (`key`: the values, as {@link SessionMetrics} keys its attribute sets). */
  seriesOf(key: string, attributes: Attributes): Series {
    let found = this.series.get(key);
    if (!found) {
      if (this.series.size >= MAX_SERIES) return (this.overflow ??= { attributes: OVERFLOW_ATTRIBUTES, value: 0, dirty: false });
      found = { attributes, value: 0, dirty: false };
      this.series.set(key, found);
    }
    return found;
  }

  add(series: Series, value: number): void {
    // as sdk-metrics' sync Counter: a negative value is refused, an INT counter drops a fraction
    if (value < 0) return;
    if (this.int && !Number.isInteger(value)) {
      value = Math.trunc(value);
      if (!Number.isInteger(value)) return;
    }
    series.value += value;
    if (!series.dirty) {
      series.dirty = true;
      this.dirty.push(series);
    }
  }

  private observe(result: ObservableResult): void {
    for (const series of this.dirty) {
      series.dirty = false;
      result.observe(series.value, series.attributes);
    }
    this.dirty = [];
  }
}

/** An attribute set: the attributes, their values as a key, and the summed series they name. */
interface AttributeSet {
  readonly attributes: Attributes;
  readonly key: string;
  /** By {@link SummedCounter.slot}, filled on first use. */
  readonly series: Array<Series | undefined>;
}

/** The instruments of METRICS.md on one meter. */
interface Instruments {
  turn: Map<string, Histogram>;
  wait: Map<WaitKey, Histogram>;
  usage: Record<UsageKey, SummedCounter>;
  sessionsStarted: Counter;
  sessionsActive: UpDownCounter;
  turns: SummedCounter;
  interruptions: SummedCounter;
  requests: SummedCounter;
  cost: SummedCounter;
  errors: SummedCounter;
  /** Quality signals by signal and agent, and the seconds of those with a size. */
  signals: SummedCounter;
  signalSeconds: SummedCounter;
  implausible: Counter;
  droppedInputs: ObservableCounter;
  exporterDroppedSpans: ObservableCounter;
  /**
   * Attribute sets made so far, by their values, shared by the sessions on the meter (a session
   * then holds none): a turn records about thirty data points over a handful of sets, and each
   * new object would be garbage right after the SDK hashes it. Bounded: the values are bounded by
   * design (agent, provider, model, stage, environment), and the cache is cleared past
   * {@link MAX_ATTRIBUTE_SETS} all the same. The sets are shared, never mutated.
   */
  attributeSets: Map<string, AttributeSet>;
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
  let slots = 0;
  const summed = (name: string): SummedCounter => new SummedCounter(meter, name, slots++);
  found = {
    turn: new Map(TURN_HISTOGRAMS.map((h) => [h.name, histogram(h.name)])),
    wait: new Map(WAIT_CONTRIBUTIONS.map((c) => [c.key, histogram(waitMetricName(c.key))])),
    usage: Object.fromEntries(Object.entries(USAGE).map(([key, name]) => [key, summed(name)])) as Record<UsageKey, SummedCounter>,
    sessionsStarted: counter(METRIC.SESSIONS_STARTED),
    sessionsActive: meter.createUpDownCounter(METRIC.SESSIONS_ACTIVE, options(spec(METRIC.SESSIONS_ACTIVE))),
    turns: summed(METRIC.TURNS),
    interruptions: summed(METRIC.INTERRUPTIONS),
    requests: summed(METRIC.REQUESTS),
    cost: summed(METRIC.COST),
    errors: summed(METRIC.ERRORS),
    signals: summed(METRIC.SIGNALS),
    signalSeconds: summed(METRIC.SIGNAL_SECONDS),
    implausible: counter(METRIC.IMPLAUSIBLE_VALUES),
    droppedInputs: meter.createObservableCounter(METRIC.DROPPED_INPUTS, options(spec(METRIC.DROPPED_INPUTS))),
    exporterDroppedSpans: meter.createObservableCounter(METRIC.EXPORTER_DROPPED_SPANS, options(spec(METRIC.EXPORTER_DROPPED_SPANS))),
    attributeSets: new Map(),
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

/** Replies remembered as counted: see SessionMetrics.countedReplies. */
const COUNTED_REPLIES = 4;

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
  /**
   * The last replies counted as turns (played, or stopped by a barge-in). A reply is counted when it
   * closes, or at a barge-in on it up to 5 s after (BARGE_IN_WINDOW_S): it is one of the last few
   * closed. A ring, not a weak set (whose table was 0.3 KiB a call), of each reply's speech id and
   * start: holding the replies themselves kept them live after the model packed their turns.
   */
  private readonly countedReplies: string[] = new Array<string>(COUNTED_REPLIES).fill('');
  private readonly countedStarts = new Float64Array(COUNTED_REPLIES).fill(NaN);
  private countedNext = 0;
  /** Inputs whose quality flags were already counted. */
  private readonly countedQuality = new WeakSet<object>();
  /** The provider/model last used per stage, for errors (which do not say). */
  private readonly lastModel: { [S in Stage]?: ModelRef } = {};
  /** A realtime connection's cumulative seconds reported so far, per provider/model. */
  /** Made at the first realtime report (an empty map's table is 0.15 KiB a call). */
  private realtimeSeconds: Map<string, number> | undefined;
  private lastAgent: string | undefined;
  private active = true;
  /** Counter series this session already added its 0 to. */
  // the process's series (bounded by MAX_SERIES), a few per session: a list, not a weak set's table (0.6 KiB a call)
  private readonly zeroed: Series[] = [];
  /** Agents whose signal series this session started at 0. */
  private readonly signalsZeroed = new Set<string | undefined>();

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
    // each owner's set looked up once for the six histograms
    const owners: Record<Owner, Attributes> = {
      llm: this.lkAttributes(replyLlm(reply), agent).attributes,
      tts: this.lkAttributes(replyTts(reply), agent).attributes,
      stt: this.lkAttributes(turn.user?.stt[0]?.metric, agent).attributes,
    };
    for (const h of TURN_HISTOGRAMS) {
      const value = h.pick(latency);
      if (value === undefined) continue;
      this.recordLatency(this.instruments.turn.get(h.name)!, value, h.field, owners[h.owner]);
    }
    if (!latency.wait.length) return;
    const waited = new Map<WaitKey, number>();
    for (const w of latency.wait) waited.set(w.key, (waited.get(w.key) ?? 0) + w.seconds);
    const agentOnly = this.agentAttributes(agent).attributes;
    // every key on every turn that has a breakdown, 0 when absent: the per-key means stack up to the mean wait
    for (const c of WAIT_CONTRIBUTIONS) {
      let attributes = agentOnly;
      if (c.owner.startsWith('provider:')) {
        const owner = waitOwner(c.owner, c.key, reply, turn);
        attributes = this.attributeSet('w', { [A.PROVIDER]: owner?.provider, [A.MODEL]: owner?.model, [A.AGENT]: agent, [A.ENVIRONMENT]: this.environment }).attributes;
      }
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
    if (metric.provider && metric.model) this.lastModel[stage] = { provider: metric.provider, model: metric.model };
    const lk = this.lkAttributes(ref, agent);
    const u = this.instruments.usage;
    switch (metric.kind) {
      case 'llm':
        this.add(u.llmInput, lk, metric.inputTokens);
        this.add(u.llmInputCached, lk, metric.cachedInputTokens);
        this.add(u.llmOutput, lk, metric.outputTokens);
        break;
      case 'realtime': {
        this.add(u.llmInput, lk, metric.inputTokens);
        this.add(u.llmInputCached, lk, metric.inputCachedTokens);
        this.add(u.llmOutput, lk, metric.outputTokens);
        this.add(u.llmInputAudio, lk, metric.inputAudioTokens);
        this.add(u.llmInputText, lk, metric.inputTextTokens);
        this.add(u.llmOutputAudio, lk, metric.outputAudioTokens);
        this.add(u.llmOutputText, lk, metric.outputTextTokens);
        // the SDK reports the connection's seconds so far: add what is new
        const key = `${metric.provider}|${metric.model}`;
        const seen = this.realtimeSeconds?.get(key) ?? 0;
        if (metric.sessionDuration !== undefined && metric.sessionDuration > seen) {
          this.add(u.llmSessionDuration, lk, metric.sessionDuration - seen);
          (this.realtimeSeconds ??= new Map()).set(key, metric.sessionDuration);
        }
        break;
      }
      case 'tts':
        this.add(u.ttsCharacters, lk, metric.characters);
        this.add(u.ttsAudioDuration, lk, metric.audioDuration);
        break;
      case 'stt':
        this.add(u.sttAudioDuration, lk, metric.audioDuration);
        break;
      case 'interruption':
        this.add(u.interruptionRequests, lk, metric.requests);
        break;
    }
    const perModel = this.perModelAttributes(stage, ref, agent);
    this.add(this.instruments.requests, perModel, 1);
    // a request's errors are 0 until one happens: the error ratio reads 0, not "no data" (adding 0
    // creates the series; once per series is enough)
    this.zeroOnce(this.instruments.errors, this.errorAttributes(stage, ref, agent, undefined));
    if (cost !== undefined && Number.isFinite(cost) && cost >= 0) this.add(this.instruments.cost, perModel, cost);
  }

  onInterruption(interruption: InterruptionRecord, reply: ReplyRecord | undefined): void {
    if (!interruption.stoppedAgent || !reply) return;
    this.countReply(reply);
  }

  onError(error: ErrorRecord): void {
    // the SDK's error type names the stage (`llm_error`); older shapes only have the failing plugin's name
    const stage = stageOfSource(error.type ?? '') ?? stageOfSource(error.source);
    const ref = stage ? this.lastModel[stage] : undefined;
    // the error's kind, never its message
    const type = error.type;
    this.add(this.instruments.errors, this.errorAttributes(stage, ref, this.agent(), typeof type === 'string' ? type : undefined), 1);
  }

  onHandoff(handoff: HandoffRecord): void {
    this.lastAgent = handoff.toAgent;
  }

  onSignal(signal: SignalRecord): void {
    // bounded dimensions: the signal's name and the agent, never the turn or its ids
    const agent = this.agent();
    this.zeroSignals(agent);
    const set = this.signalAttributes(signal.name, agent);
    this.add(this.instruments.signals, set, 1);
    if (signal.seconds !== undefined && Number.isFinite(signal.seconds) && signal.seconds >= 0) this.add(this.instruments.signalSeconds, set, signal.seconds);
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
  private agentAttributes(agent: string | undefined): AttributeSet {
    return this.attributeSet('a', { [A.AGENT]: agent, [A.ENVIRONMENT]: this.environment });
  }

  /** LiveKit's keys on `lk.agents.*`. */
  private lkAttributes(ref: Ref, agent: string | undefined): AttributeSet {
    return this.attributeSet('lk', { [A.MODEL_PROVIDER]: ref?.provider, [A.MODEL_NAME]: ref?.model, [A.AGENT]: agent, [A.ENVIRONMENT]: this.environment });
  }

  private perModelAttributes(stage: Stage | undefined, ref: Ref, agent: string | undefined): AttributeSet {
    return this.attributeSet('pm', { [A.STAGE]: stage, [A.PROVIDER]: ref?.provider, [A.MODEL]: ref?.model, [A.AGENT]: agent, [A.ENVIRONMENT]: this.environment });
  }

  /**
   * The per-model keys and the error's type: one layout for every `voicetrace.errors` series (its
   * 0 has no type), so equal attributes are one key of the summed counter.
   */
  private errorAttributes(stage: Stage | undefined, ref: Ref, agent: string | undefined, type: string | undefined): AttributeSet {
    return this.attributeSet('err', { [A.STAGE]: stage, [A.PROVIDER]: ref?.provider, [A.MODEL]: ref?.model, [A.AGENT]: agent, [A.ENVIRONMENT]: this.environment, [A.ERROR_TYPE]: type });
  }

  /**
   * {@link attrs} of `values`, the same object each time for the same values (`kind` names the key
   * layout; a summed counter records under one layout, so its key stands for the attribute values).
   */
  private attributeSet(kind: string, values: Record<string, string | undefined>): AttributeSet {
    let key = kind;
    for (const name in values) key += `\u0000${values[name] ?? ''}`;
    const sets = this.instruments.attributeSets;
    let found = sets.get(key);
    if (!found) {
      if (sets.size >= MAX_ATTRIBUTE_SETS) sets.clear();
      found = { attributes: attrs(values), key, series: [] };
      sets.set(key, found);
    }
    return found;
  }

  /** A summed counter's series of `set` (looked up once per attribute set, then kept on it). */
  private series(counter: SummedCounter, set: AttributeSet): Series {
    return (set.series[counter.slot] ??= counter.seriesOf(set.key, set.attributes));
  }

  private add(counter: SummedCounter, set: AttributeSet, value: number): void {
    counter.add(this.series(counter, set), value);
  }

  /** Adds 0 to a counter's series the first time this session sees it (so it reads 0, not "no data"). */
  private zeroOnce(counter: SummedCounter, set: AttributeSet): void {
    const series = this.series(counter, set);
    if (this.zeroed.includes(series)) return;
    this.zeroed.push(series);
    counter.add(series, 0);
  }

  /** A reply counts once as a turn; if the user stopped it, once as an interruption. */
  private countReply(reply: ReplyRecord): void {
    for (let i = 0; i < COUNTED_REPLIES; i++) if (this.countedReplies[i] === reply.speechId && this.countedStarts[i] === reply.startedAt) return;
    this.countedReplies[this.countedNext] = reply.speechId;
    this.countedStarts[this.countedNext] = reply.startedAt;
    this.countedNext = (this.countedNext + 1) % COUNTED_REPLIES;
    const agent = reply.agent ?? this.agent();
    const common = this.agentAttributes(agent);
    this.add(this.instruments.turns, common, 1);
    if (reply.interruptions.some((i) => i.stoppedAgent)) this.add(this.instruments.interruptions, common, 1);
    else this.zeroOnce(this.instruments.interruptions, common);
    this.zeroSignals(agent);
  }

  /**
   * Every signal's series starts at 0 for an agent this session speaks as: a series whose first
   * value is already 1 loses that 1 to rate() and increase() (one call per job process makes that
   * most of them). Once per agent per session.
   */
  private zeroSignals(agent: string | undefined): void {
    if (this.signalsZeroed.has(agent)) return;
    this.signalsZeroed.add(agent);
    for (const name of SIGNAL_NAMES) {
      const set = this.signalAttributes(name, agent);
      this.zeroOnce(this.instruments.signals, set);
      if (SIZED_SIGNALS.has(name)) this.zeroOnce(this.instruments.signalSeconds, set);
    }
  }

  private signalAttributes(name: string, agent: string | undefined): AttributeSet {
    return this.attributeSet('sig', { [A.SIGNAL]: name, [A.AGENT]: agent, [A.ENVIRONMENT]: this.environment });
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
        ...this.perModelAttributes(stage, ref, agent).attributes,
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
