import { llm, tts, type voice } from '@livekit/agents';
import type { ModelRef, ModelUsage } from '@voicetrace/core';
import { providerName, providerOfLabel, type MetricsContext } from './normalize.js';

/**
 * What the binding reads off the `AgentSession` itself (not its events): which stages run in
 * the agent, the models it was given, and the SDK's own usage. Read when needed, since an agent
 * may bring its own models and a handoff changes the agent. Never throws.
 */
export class SessionShape {
  constructor(private readonly session: voice.AgentSession) {}

  /**
   * The LLM's provider and model, for metrics that name none (the SDK's realtime plugins report no
   * metadata). A model that names no provider (`unknown`, Gemini Live's) is named after its label.
   */
  llmModel(): { provider?: string; model?: string } {
    return safely(() => {
      const llm = this.agent()?.llm ?? this.session.llm;
      const ref = modelRef(llm);
      if (ref.provider && ref.provider !== 'unknown') return ref;
      const label = typeof (llm as { label?: unknown } | undefined)?.label === 'function' ? (llm as { label(): string }).label() : undefined;
      return { ...ref, provider: providerOfLabel(label) ?? ref.provider };
    }, {});
  }

  /** The LLM's provider and model as voicetrace names them, when both are known. */
  llmRef(): ModelRef | undefined {
    const { provider, model } = this.llmModel();
    return provider && model && provider !== 'unknown' ? { provider: providerName(provider), model } : undefined;
  }

  /** The STT's provider and model as voicetrace names them (the SDK writes the STT's label on the user turn). */
  sttModel(): ModelRef | undefined {
    return safely(() => {
      const ref = modelRef(this.agent()?.stt ?? this.session.stt);
      return ref.provider && ref.model ? { provider: providerName(ref.provider), model: ref.model } : undefined;
    }, undefined);
  }

  /** The agent's TTS does not stream: the SDK runs it behind its stream adapter. */
  ttsAdapted(): boolean | undefined {
    return safely(() => {
      const speaker = this.agent()?.tts ?? this.session.tts;
      if (!speaker) return undefined;
      return speaker instanceof tts.StreamAdapter || speaker.capabilities?.streaming === false;
    }, undefined);
  }

  /** A speech-to-speech (realtime) model answers. */
  realtime(): boolean {
    return safely(() => (this.agent()?.llm ?? this.session.llm) instanceof llm.RealtimeModel, false);
  }

  /** The stages the session runs in the agent: a VAD of its own (not the realtime model's server VAD), an STT (its model). */
  stages(): { vad: boolean; stt: ModelRef | undefined } {
    return safely(() => {
      const realtime = this.realtime();
      const defaultVad = (this.session as unknown as { _usingDefaultVad?: boolean })._usingDefaultVad === true;
      const hasStt = !realtime && !!(this.agent()?.stt ?? this.session.stt);
      return { vad: !!this.session.vad && !(realtime && defaultVad), stt: hasStt ? (this.sttModel() ?? { provider: 'unknown', model: 'unknown' }) : undefined };
    }, { vad: false, stt: undefined });
  }

  /** The context a metrics payload is read in. */
  metricsContext(): MetricsContext {
    return { fallback: this.llmModel(), ttsAdapted: this.ttsAdapted() };
  }

  /** The SDK's own usage (`session.usage`), in voicetrace's units and provider names. */
  sdkUsage(): ModelUsage[] | undefined {
    return safely(() => {
      const usage = (this.session as unknown as { usage?: { modelUsage?: Array<Record<string, unknown>> } }).usage;
      return usage?.modelUsage?.map(toModelUsage).filter((u): u is ModelUsage => u !== undefined);
    }, undefined);
  }

  private agent(): voice.Agent | undefined {
    try {
      return this.session.currentAgent;
    } catch {
      return undefined;
    }
  }
}

function modelRef(model: unknown): { provider?: string; model?: string } {
  if (!model || typeof model !== 'object') return {};
  const m = model as { provider?: unknown; model?: unknown };
  return { provider: typeof m.provider === 'string' ? m.provider : undefined, model: typeof m.model === 'string' ? m.model : undefined };
}

function safely<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}

const num = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);

/** One entry of the SDK's `session.usage.modelUsage` (zero fields left out, durations in ms) as voicetrace's. */
function toModelUsage(raw: Record<string, unknown>): ModelUsage | undefined {
  const provider = providerName(String(raw.provider ?? ''));
  const model = String(raw.model ?? '');
  switch (raw.type) {
    case 'llm_usage':
      return {
        type: 'llm_usage', provider, model, inputTokens: num(raw.inputTokens), inputCachedTokens: num(raw.inputCachedTokens),
        inputCacheCreationTokens: num(raw.inputCacheCreationTokens), inputAudioTokens: num(raw.inputAudioTokens), inputTextTokens: num(raw.inputTextTokens),
        outputTokens: num(raw.outputTokens), outputAudioTokens: num(raw.outputAudioTokens), outputTextTokens: num(raw.outputTextTokens),
        sessionDuration: num(raw.sessionDurationMs) / 1000, requests: 0,
      };
    case 'tts_usage':
      return { type: 'tts_usage', provider, model, inputTokens: num(raw.inputTokens), outputTokens: num(raw.outputTokens), charactersCount: num(raw.charactersCount), audioDuration: num(raw.audioDurationMs) / 1000, requests: 0 };
    case 'stt_usage':
      return { type: 'stt_usage', provider, model, inputTokens: num(raw.inputTokens), outputTokens: num(raw.outputTokens), audioDuration: num(raw.audioDurationMs) / 1000, requests: 0 };
    case 'interruption_usage':
      return { type: 'interruption_usage', provider, model, totalRequests: num(raw.totalRequests) };
    default:
      return undefined;
  }
}
