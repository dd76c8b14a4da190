import type { ModelRef } from './events.js';

/**
 * Prices of one model, in USD. Every field is optional: a model is billed by
 * whichever units its provider uses.
 */
export interface ModelPrice {
  /** USD per 1M input tokens (uncached). */
  inputPerMTok?: number | undefined;
  /** USD per 1M cached input tokens. */
  cachedInputPerMTok?: number | undefined;
  /** USD per 1M output tokens. */
  outputPerMTok?: number | undefined;
  /** USD per 1M audio input tokens (realtime models). */
  audioInputPerMTok?: number | undefined;
  /** USD per 1M audio output tokens (realtime models). */
  audioOutputPerMTok?: number | undefined;
  /** USD per 1M characters (TTS). */
  perMCharacters?: number | undefined;
  /** USD per minute of audio (STT). */
  perAudioMinute?: number | undefined;
  /** The date the price was taken from the provider's public price page (YYYY-MM-DD). */
  asOf: string;
}

/** Prices keyed by `provider/model` (lower case); a key ending in `*` prices every model it prefixes. */
export type PriceTable = Readonly<Record<string, ModelPrice>>;

/**
 * A few common models' public list prices. Estimates: providers change
 * prices, discount, and bill in increments; override with your contract.
 */
export const DEFAULT_PRICES: PriceTable = {
  'openai/gpt-4o-mini': { inputPerMTok: 0.15, cachedInputPerMTok: 0.075, outputPerMTok: 0.6, asOf: '2025-06-01' },
  'openai/gpt-4o': { inputPerMTok: 2.5, cachedInputPerMTok: 1.25, outputPerMTok: 10, asOf: '2025-06-01' },
  'openai/gpt-4.1-mini': { inputPerMTok: 0.4, cachedInputPerMTok: 0.1, outputPerMTok: 1.6, asOf: '2025-06-01' },
  'openai/gpt-4o-realtime-preview': {
    inputPerMTok: 5,
    cachedInputPerMTok: 2.5,
    outputPerMTok: 20,
    audioInputPerMTok: 40,
    audioOutputPerMTok: 80,
    asOf: '2025-06-01',
  },
  'openai/gpt-realtime': {
    inputPerMTok: 4,
    cachedInputPerMTok: 0.4,
    outputPerMTok: 16,
    audioInputPerMTok: 32,
    audioOutputPerMTok: 64,
    asOf: '2025-09-01',
  },
  'openai/tts-1': { perMCharacters: 15, asOf: '2025-06-01' },
  'openai/whisper-1': { perAudioMinute: 0.006, asOf: '2025-06-01' },
  'gcp.gemini/gemini-2.5-flash': { inputPerMTok: 0.3, cachedInputPerMTok: 0.075, outputPerMTok: 2.5, asOf: '2025-09-01' },
  // Gemini Live's native-audio models (the Live API's price page: text, audio)
  'gcp.gemini/gemini-2.5-flash-native-audio-*': { inputPerMTok: 0.5, outputPerMTok: 2, audioInputPerMTok: 3, audioOutputPerMTok: 12, asOf: '2025-09-01' },
  'deepgram/nova-3': { perAudioMinute: 0.0077, asOf: '2025-06-01' },
  'deepgram/nova-2': { perAudioMinute: 0.0058, asOf: '2025-06-01' },
  // Aura-2 voices are billed alike: the model names the voice (`aura-2-andromeda-en`)
  'deepgram/aura-2-*': { perMCharacters: 30, asOf: '2025-06-01' },
  'cartesia/sonic-2': { perMCharacters: 38, asOf: '2025-06-01' },
  'elevenlabs/eleven_flash_v2_5': { perMCharacters: 50, asOf: '2025-06-01' },
  'elevenlabs/eleven_turbo_v2_5': { perMCharacters: 50, asOf: '2025-06-01' },
};

/** Usage that can be priced. */
export interface PricedUsage {
  inputTokens?: number;
  cachedInputTokens?: number;
  outputTokens?: number;
  inputAudioTokens?: number;
  outputAudioTokens?: number;
  characters?: number;
  audioSeconds?: number;
}

/** Looks prices up by provider/model; user entries override the defaults. */
export class PriceBook {
  private readonly table: Map<string, ModelPrice>;

  constructor(overrides: PriceTable = {}, includeDefaults = true) {
    const merged = { ...(includeDefaults ? DEFAULT_PRICES : {}), ...overrides };
    this.table = new Map(Object.entries(merged).map(([key, price]) => [key.toLowerCase(), price]));
  }

  /**
   * The price of `ref`, or undefined when the table has none: the exact `provider/model` entry,
   * else the longest `provider/prefix*` entry that matches. LiveKit Inference (`livekit`, model
   * `deepgram/nova-3`) is priced as the model it runs unless the table names it.
   */
  priceOf(ref: ModelRef): ModelPrice | undefined {
    const key = `${ref.provider}/${ref.model}`.toLowerCase();
    const exact = this.table.get(key) ?? this.byPrefix(key);
    if (exact || ref.provider.toLowerCase() !== 'livekit' || !ref.model.includes('/')) return exact;
    return this.table.get(ref.model.toLowerCase()) ?? this.byPrefix(ref.model.toLowerCase());
  }

  private byPrefix(key: string): ModelPrice | undefined {
    let best: [string, ModelPrice] | undefined;
    for (const entry of this.table) {
      const [pattern] = entry;
      if (pattern.endsWith('*') && key.startsWith(pattern.slice(0, -1)) && (!best || pattern.length > best[0].length)) best = entry;
    }
    return best?.[1];
  }

  /** Estimated cost in USD, or undefined when the model has no price. */
  cost(ref: ModelRef, usage: PricedUsage): number | undefined {
    const price = this.priceOf(ref);
    if (!price) return undefined;
    const perM = (count: number | undefined, rate: number | undefined) => ((count ?? 0) * (rate ?? 0)) / 1_000_000;
    const cached = usage.cachedInputTokens ?? 0;
    const audioIn = usage.inputAudioTokens ?? 0;
    const audioOut = usage.outputAudioTokens ?? 0;
    // audio tokens are billed at their own rate when the table has one
    const textIn = Math.max(0, (usage.inputTokens ?? 0) - cached - (price.audioInputPerMTok ? audioIn : 0));
    const textOut = Math.max(0, (usage.outputTokens ?? 0) - (price.audioOutputPerMTok ? audioOut : 0));
    return (
      perM(textIn, price.inputPerMTok) +
      perM(cached, price.cachedInputPerMTok ?? price.inputPerMTok) +
      perM(textOut, price.outputPerMTok) +
      perM(price.audioInputPerMTok ? audioIn : 0, price.audioInputPerMTok) +
      perM(price.audioOutputPerMTok ? audioOut : 0, price.audioOutputPerMTok) +
      perM(usage.characters, price.perMCharacters) +
      ((usage.audioSeconds ?? 0) / 60) * (price.perAudioMinute ?? 0)
    );
  }
}
