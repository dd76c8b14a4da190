import type { DropCounters } from './counters.js';
import type { InterruptionMetric, LlmMetric, RealtimeMetric, SttMetric, StageMetric, TtsMetric } from './events.js';
import type { PriceBook } from './prices.js';

/** LLM (and realtime) usage of one provider/model, as the SDK's LLMModelUsage (durations in seconds). */
export interface LlmUsage {
  type: 'llm_usage';
  provider: string;
  model: string;
  inputTokens: number;
  inputCachedTokens: number;
  inputCacheCreationTokens: number;
  inputAudioTokens: number;
  inputTextTokens: number;
  outputTokens: number;
  outputAudioTokens: number;
  outputTextTokens: number;
  sessionDuration: number;
  requests: number;
  cost?: number;
}

/** TTS usage of one provider/model, as the SDK's TTSModelUsage (seconds). */
export interface TtsUsage {
  type: 'tts_usage';
  provider: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  charactersCount: number;
  audioDuration: number;
  requests: number;
  cost?: number;
}

/** STT usage of one provider/model, as the SDK's STTModelUsage (seconds). */
export interface SttUsage {
  type: 'stt_usage';
  provider: string;
  model: string;
  inputTokens: number;
  outputTokens: number;
  audioDuration: number;
  requests: number;
  cost?: number;
}

/** Interruption-model usage, as the SDK's InterruptionModelUsage. */
export interface InterruptionUsage {
  type: 'interruption_usage';
  provider: string;
  model: string;
  totalRequests: number;
  cost?: number;
}

/** Usage of one provider/model. */
export type ModelUsage = LlmUsage | TtsUsage | SttUsage | InterruptionUsage;

const DUPLICATE_WINDOW_S = 10;

/** What a TTS report is compared on to find its repeat (see UsageLedger.isDuplicateTts). */
interface TtsFigures {
  speechId: string;
  characters: number;
  audioMs: number;
  at: number;
  streamed: boolean;
}

function ttsFigures(metric: TtsMetric): TtsFigures {
  return { speechId: metric.speechId ?? '', characters: metric.characters, audioMs: Math.round(metric.audioDuration * 1000), at: metric.at, streamed: metric.streamed };
}

/** Two reported figures the same: equal, or both NaN (as their text would be). */
function sameFigure(a: number, b: number): boolean {
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
}

/** One usage figure on which voicetrace and the SDK's `session.usage` disagree. */
export interface UsageDisagreement {
  type: ModelUsage['type'];
  provider: string;
  model: string;
  /** The usage field (`charactersCount`, `audioDuration`, `inputTokens` ...; seconds for durations). */
  figure: string;
  voicetrace: number;
  sdk: number;
  /** `sdk_counts_stream_adapter_report` (the SDK's known double count) or `unexplained`. */
  cause: 'sdk_counts_stream_adapter_report' | 'unexplained';
}

/** The figures compared per usage type. */
const USAGE_FIGURES: Record<ModelUsage['type'], readonly string[]> = {
  llm_usage: ['inputTokens', 'inputCachedTokens', 'outputTokens', 'inputAudioTokens', 'inputTextTokens', 'outputAudioTokens', 'outputTextTokens'],
  tts_usage: ['charactersCount', 'audioDuration', 'inputTokens', 'outputTokens'],
  stt_usage: ['audioDuration', 'inputTokens', 'outputTokens'],
  interruption_usage: ['totalRequests'],
};

function numberOf(usage: ModelUsage | undefined, figure: string): number {
  const value = (usage as unknown as Record<string, unknown> | undefined)?.[figure];
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/**
 * Accumulates usage per provider/model, counting each unit once. The SDK's TTS
 * stream adapter reports every utterance twice (streamed and not); the ledger
 * recognises the second report (same speech, characters and audio length) and
 * skips it, counting a `duplicate_usage`.
 */
export class UsageLedger {
  private readonly entries = new Map<string, ModelUsage>();
  /**
   * Cost per entry, the sum of its requests' costs: pricing the total usage instead would differ
   * where a request's price clamps (more cached tokens than text), and every view must show the
   * same number as the requests' spans.
   */
  private readonly costs = new Map<string, number>();
  /** The last TTS reports counted, for isDuplicateTts: their figures as numbers (a key string per report cost twice the bytes). */
  private readonly recentTts: TtsFigures[] = [];
  /** TTS reports not counted (the stream adapter's), per entry: what an SDK that counts them adds. Made at the first. */
  private skippedTts: Map<string, { characters: number; audioDuration: number }> | undefined;

  constructor(
    private readonly prices: PriceBook,
    private readonly counters: DropCounters,
  ) {}

  /** Adds one metric's usage; returns false when it was a duplicate and not counted. */
  add(metric: StageMetric): boolean {
    const counted = this.addUsage(metric);
    const cost = counted ? this.costOfMetric(metric) : undefined;
    if (cost !== undefined) {
      const key = this.keyOf(metric);
      if (key) this.costs.set(key, (this.costs.get(key) ?? 0) + cost);
    }
    return counted;
  }

  private keyOf(metric: StageMetric): string | undefined {
    switch (metric.kind) {
      case 'llm':
      case 'realtime':
        return `llm_usage|${metric.provider}|${metric.model}`;
      case 'tts':
        return `tts_usage|${metric.provider}|${metric.model}`;
      case 'stt':
        return `stt_usage|${metric.provider}|${metric.model}`;
      default:
        return undefined;
    }
  }

  private addUsage(metric: StageMetric): boolean {
    switch (metric.kind) {
      case 'llm':
        this.addLlm(metric);
        return true;
      case 'realtime':
        this.addRealtime(metric);
        return true;
      case 'tts':
        return this.addTts(metric);
      case 'stt':
        this.addStt(metric);
        return true;
      case 'interruption':
        this.addInterruption(metric);
        return true;
      default:
        return true;
    }
  }

  /** Whether `metric` repeats a TTS report already counted (the stream-adapter double count). */
  isDuplicateTts(metric: TtsMetric): boolean {
    const mine = ttsFigures(metric);
    return this.recentTts.some(
      (seen) => seen.speechId === mine.speechId && sameFigure(seen.characters, mine.characters) && sameFigure(seen.audioMs, mine.audioMs) && seen.streamed !== mine.streamed && mine.at - seen.at < DUPLICATE_WINDOW_S,
    );
  }

  /** Usage per provider/model with estimated costs (undefined for a model without a price). */
  summary(): ModelUsage[] {
    return [...this.entries.entries()].map(([key, usage]) => ({ ...usage, cost: this.costs.get(key) }));
  }

  /**
   * Compares voicetrace's usage with the SDK's own (`session.usage`, in the same units): one entry per
   * figure that differs, named by its cause when known. The SDK counts the TTS stream adapter's
   * report on top of its sentences' (`sdk_counts_stream_adapter_report`); anything else is `unexplained`.
   */
  compare(sdk: readonly ModelUsage[]): UsageDisagreement[] {
    const out: UsageDisagreement[] = [];
    const ours = new Map([...this.entries.entries()]);
    const theirs = new Map(sdk.map((usage) => [`${usage.type}|${usage.provider}|${usage.model}`, usage]));
    // the SDK files a realtime model's usage under no name (its metrics carry none): it is ours of that type
    for (const [key, usage] of [...theirs]) {
      if (usage.provider || usage.model) continue;
      const unmatched = [...ours.keys()].filter((k) => k.startsWith(`${usage.type}|`) && !theirs.has(k));
      if (unmatched.length !== 1) continue;
      theirs.delete(key);
      theirs.set(unmatched[0]!, usage);
    }
    for (const key of new Set([...ours.keys(), ...theirs.keys()])) {
      const mine = ours.get(key);
      const other = theirs.get(key);
      const type = (mine ?? other)!.type;
      for (const figure of USAGE_FIGURES[type]) {
        const a = numberOf(mine, figure);
        const b = numberOf(other, figure);
        if (Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b))) continue;
        const skipped = this.skippedTts?.get(key);
        const adapter = type === 'tts_usage' && skipped && Math.abs(a + (figure === 'charactersCount' ? skipped.characters : figure === 'audioDuration' ? skipped.audioDuration : NaN) - b) <= 1e-6 * Math.max(1, b);
        const [, provider, model] = key.split('|') as [string, string, string];
        out.push({ type, provider, model, figure, voicetrace: a, sdk: b, cause: adapter ? 'sdk_counts_stream_adapter_report' : 'unexplained' });
      }
    }
    return out;
  }

  /** Estimated total cost in USD (models without a price count 0). */
  totalCost(): number {
    return this.summary().reduce((sum, usage) => sum + (usage.cost ?? 0), 0);
  }

  /** Estimated cost of one metric at table prices. */
  costOfMetric(metric: StageMetric): number | undefined {
    switch (metric.kind) {
      case 'llm':
        return this.prices.cost(metric, {
          inputTokens: metric.inputTokens,
          cachedInputTokens: metric.cachedInputTokens,
          outputTokens: metric.outputTokens,
        });
      case 'realtime':
        return this.prices.cost(metric, {
          inputTokens: metric.inputTokens,
          cachedInputTokens: metric.inputCachedTokens,
          outputTokens: metric.outputTokens,
          inputAudioTokens: metric.inputAudioTokens,
          outputAudioTokens: metric.outputAudioTokens,
        });
      case 'tts':
        return this.prices.cost(metric, { characters: metric.characters, inputTokens: metric.inputTokens, outputTokens: metric.outputTokens });
      case 'stt':
        return this.prices.cost(metric, { audioSeconds: metric.audioDuration, inputTokens: metric.inputTokens, outputTokens: metric.outputTokens });
      default:
        return undefined;
    }
  }

  private entry<T extends ModelUsage>(type: T['type'], provider: string, model: string, init: () => T): T {
    const key = `${type}|${provider}|${model}`;
    let found = this.entries.get(key) as T | undefined;
    if (!found) {
      found = init();
      this.entries.set(key, found);
    }
    return found;
  }

  private llmEntry(provider: string, model: string): LlmUsage {
    return this.entry<LlmUsage>('llm_usage', provider, model, () => ({
      type: 'llm_usage', provider, model, inputTokens: 0, inputCachedTokens: 0, inputCacheCreationTokens: 0,
      inputAudioTokens: 0, inputTextTokens: 0, outputTokens: 0, outputAudioTokens: 0, outputTextTokens: 0,
      sessionDuration: 0, requests: 0,
    }));
  }

  private addLlm(metric: LlmMetric): void {
    const usage = this.llmEntry(metric.provider, metric.model);
    usage.inputTokens += metric.inputTokens;
    usage.inputCachedTokens += metric.cachedInputTokens;
    usage.inputCacheCreationTokens += metric.cacheCreationTokens;
    usage.outputTokens += metric.outputTokens;
    usage.requests += 1;
  }

  private addRealtime(metric: RealtimeMetric): void {
    const usage = this.llmEntry(metric.provider, metric.model);
    usage.inputTokens += metric.inputTokens;
    usage.inputCachedTokens += metric.inputCachedTokens;
    usage.inputAudioTokens += metric.inputAudioTokens;
    usage.inputTextTokens += metric.inputTextTokens;
    usage.outputTokens += metric.outputTokens;
    usage.outputAudioTokens += metric.outputAudioTokens;
    usage.outputTextTokens += metric.outputTextTokens;
    // the session duration is cumulative per connection: keep the largest seen
    usage.sessionDuration = Math.max(usage.sessionDuration, metric.sessionDuration ?? 0);
    usage.requests += 1;
  }

  private addTts(metric: TtsMetric): boolean {
    // the binding names the stream adapter's own report; without it, a report repeating another's figures is one
    if (metric.streamAdapterReport ?? this.isDuplicateTts(metric)) {
      this.counters.count('duplicate_usage', `${metric.provider}/${metric.model}`);
      const skipped = this.skippedTts?.get(this.keyOf(metric)!) ?? { characters: 0, audioDuration: 0 };
      skipped.characters += metric.characters;
      skipped.audioDuration += metric.audioDuration;
      (this.skippedTts ??= new Map()).set(this.keyOf(metric)!, skipped);
      return false;
    }
    this.recentTts.push(ttsFigures(metric));
    while (this.recentTts.length > 64) this.recentTts.shift();
    const usage = this.entry<TtsUsage>('tts_usage', metric.provider, metric.model, () => ({
      type: 'tts_usage', provider: metric.provider, model: metric.model, inputTokens: 0, outputTokens: 0,
      charactersCount: 0, audioDuration: 0, requests: 0,
    }));
    usage.charactersCount += metric.characters;
    usage.audioDuration += metric.audioDuration;
    usage.inputTokens += metric.inputTokens;
    usage.outputTokens += metric.outputTokens;
    usage.requests += 1;
    return true;
  }

  private addStt(metric: SttMetric): void {
    const usage = this.entry<SttUsage>('stt_usage', metric.provider, metric.model, () => ({
      type: 'stt_usage', provider: metric.provider, model: metric.model, inputTokens: 0, outputTokens: 0,
      audioDuration: 0, requests: 0,
    }));
    usage.audioDuration += metric.audioDuration;
    usage.inputTokens += metric.inputTokens;
    usage.outputTokens += metric.outputTokens;
    usage.requests += 1;
  }

  private addInterruption(metric: InterruptionMetric): void {
    const provider = metric.provider ?? 'unknown';
    const model = metric.model ?? 'unknown';
    const usage = this.entry<InterruptionUsage>('interruption_usage', provider, model, () => ({
      type: 'interruption_usage', provider, model, totalRequests: 0,
    }));
    usage.totalRequests += metric.requests;
  }
}
