import { inference, llm, type stt, type tts } from '@livekit/agents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { compatVoiceTrace, runCall, type CallResult } from '../src/call.js';
import { SpeakingCaller } from '../src/caller.js';
import { startInferenceGateway, type InferenceGateway, type InferenceGatewayFaults, type InferenceSpeechScript } from '../src/servers/livekit-inference.js';
import type { ChatScript } from '../src/servers/openai.js';
import { ATTR } from '@voicetrace/conventions';
import { commonFailures, numberAttribute as num, sdkMetrics, stageModels, turnSpans, usageOf } from '../src/checks.js';
import { committedEntry, installedVersion, recordFigures, type FigureRow } from '../src/results.js';
import { sileroVad, speechOrSkip } from '../src/support.js';

// first: the SDK's logger and voicetrace's tracer provider (one per process)
compatVoiceTrace();
const speech = await speechOrSkip();

const API_KEY = 'APIcompatKey';
const API_SECRET = 'compat-secret-that-signs-the-inference-tokens';
/** The models exactly as a user writes them. */
const MODELS = { stt: 'deepgram/nova-3', llm: 'openai/gpt-4o-mini', tts: 'cartesia/sonic-2' } as const;

const LINES = [
  { text: 'Hi, what is the weather like in Paris today?' },
  { text: 'Great, and what are your opening hours?' },
  { text: 'Thanks, that is all for today.' },
];
const CHAT: ChatScript[] = [
  { when: 'weather', toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }], ttftMs: 400, usage: { promptTokens: 120, completionTokens: 12, cachedTokens: 64 } },
  { when: 'tool:get_weather', text: 'It is eighteen degrees and sunny in Paris. Anything else?', ttftMs: 300, usage: { promptTokens: 160, completionTokens: 14, cachedTokens: 128 } },
  { when: 'opening hours', text: 'We open at nine and close at eight. On Sundays we open at ten. Holidays can differ.', ttftMs: 350, usage: { promptTokens: 200, completionTokens: 20, cachedTokens: 128 } },
  { when: 'that is all', text: 'You are welcome, goodbye!', ttftMs: 250, usage: { promptTokens: 230, completionTokens: 6 } },
];
/** The replies the agent speaks, in order: the chat scripts with text. */
const REPLIES = CHAT.filter((c) => c.text !== undefined);
const SPEECH: InferenceSpeechScript[] = [{ ttfbMs: 220 }, { ttfbMs: 280, secondsPerCharacter: 0.05 }, { ttfbMs: 180 }];
const TOOLS = {
  get_weather: llm.tool({ description: 'Current weather for a city.', parameters: z.object({ city: z.string() }), execute: async ({ city }) => ({ city, temperatureC: 18 }) }),
};

/**
 * The SDK starts its ttft clock when the LLM stream is created (llm/llm.ts:338), before it formats the chat,
 * converts the tool schemas and signs a token (inference/llm.ts:420-478): 7-34 ms on top of what the gateway
 * served in our runs, the most on the first request. TTS ttfb starts right before the text is sent (tts.ts:663).
 */
const LLM_TTFT_SLACK_MS = 45;
const TTS_TTFB_SLACK_MS = 30;

type Metrics = Record<string, unknown> & { metadata?: { modelProvider?: string; modelName?: string } };

const metricsOf = (result: CallResult, type: string): Metrics[] => result.sdk.metrics.map((m) => m.metrics as Metrics).filter((m) => m.type === type);

/**
 * A model descriptor as the user passes it: runCall hands it to `AgentSession` unchanged, and the session
 * turns strings into `inference.STT/LLM/TTS` (agent_session.ts:728-750). Only runCall's types want instances.
 */
const descriptor = <T>(model: string): T => model as unknown as T;

const ENV_NAMES = ['LIVEKIT_INFERENCE_URL', 'LIVEKIT_API_KEY', 'LIVEKIT_API_SECRET', 'LIVEKIT_INFERENCE_API_KEY', 'LIVEKIT_INFERENCE_API_SECRET'] as const;

/**
 * Points the inference clients at the gateway the way a user's environment does: `LIVEKIT_INFERENCE_URL`
 * (utils.ts:32-44) and `LIVEKIT_API_KEY`/`_SECRET`, with the `LIVEKIT_INFERENCE_*` overrides cleared since they
 * win (stt.ts:507-513). Returns the restore.
 */
function useGateway(gateway: InferenceGateway): () => void {
  const saved = Object.fromEntries(ENV_NAMES.map((name) => [name, process.env[name]]));
  for (const name of ENV_NAMES) delete process.env[name];
  Object.assign(process.env, { LIVEKIT_INFERENCE_URL: gateway.baseUrl, LIVEKIT_API_KEY: API_KEY, LIVEKIT_API_SECRET: API_SECRET });
  return () => {
    for (const name of ENV_NAMES) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  };
}

/** A call with all three clients from model strings against a fresh gateway. */
async function inferenceCall(lines: typeof LINES, faults?: InferenceGatewayFaults): Promise<{ result: CallResult; gateway: InferenceGateway }> {
  const caller = new SpeakingCaller();
  const gateway = await startInferenceGateway({
    apiKey: API_KEY,
    apiSecret: API_SECRET,
    caller,
    transcripts: lines.map((l, i) => ({ text: l.text, finalDelayMs: 400 + i * 150 })),
    chat: CHAT,
    speech: SPEECH,
    faults,
  });
  const restore = useGateway(gateway);
  try {
    const result = await runCall({
      caller,
      stt: descriptor<stt.STT>(MODELS.stt),
      vad: await sileroVad(),
      llm: descriptor<llm.LLM>(MODELS.llm),
      tts: descriptor<tts.TTS>(MODELS.tts),
      lines,
      tools: TOOLS,
    });
    return { result, gateway };
  } catch (error) {
    await gateway.close();
    throw error;
  } finally {
    restore();
  }
}

describe.skipIf(!speech)('LiveKit Inference: STT, LLM and TTS from model strings, Silero VAD', () => {
  let result: CallResult;
  let gateway: InferenceGateway;
  beforeAll(async () => {
    ({ result, gateway } = await inferenceCall(LINES));
  }, 180_000);
  afterAll(async () => {
    await gateway?.close();
  });

  it('the SDK clients talked to the gateway with valid tokens and the call completed', () => {
    const connects = [...gateway.find('connect', 'stt'), ...gateway.find('connect', 'tts')];
    expect(gateway.find('connect', 'stt').map((e) => e.model)).toEqual([MODELS.stt]);
    expect(new Set(gateway.find('connect', 'tts').map((e) => e.model))).toEqual(new Set([MODELS.tts]));
    expect(connects.every((e) => e.auth === 'ok')).toBe(true);
    const chat = gateway.find('request', 'chat');
    expect(chat).toHaveLength(4);
    expect(chat.every((e) => e.auth === 'ok')).toBe(true);
    expect(gateway.find('final_transcript', 'stt').map((e) => e.delivered)).toEqual([true, true, true]);
    expect(result.sdk.errors).toEqual([]);
    expect(result.sdk.messages.filter((m) => m.role === 'user').map((m) => m.text)).toEqual(LINES.map((l) => l.text));
    expect(result.sdk.messages.filter((m) => m.role === 'assistant').map((m) => m.text)).toEqual(REPLIES.map((r) => r.text));
  });

  it('LLM metrics: ttft as injected, tokens exact, named livekit / openai/gpt-4o-mini', () => {
    const llmMetrics = metricsOf(result, 'llm_metrics');
    expect(llmMetrics).toHaveLength(CHAT.length);
    for (const [i, script] of CHAT.entries()) {
      const m = llmMetrics[i]!;
      const served = gateway.upstream.find('first_chunk', 'chat')[i]!.at - gateway.find('request', 'chat')[i]!.at;
      expect(m.ttftMs as number).toBeGreaterThanOrEqual(served);
      expect((m.ttftMs as number) - script.ttftMs).toBeLessThanOrEqual(LLM_TTFT_SLACK_MS + result.loopStallMs);
      expect(m).toMatchObject({
        promptTokens: script.usage.promptTokens,
        completionTokens: script.usage.completionTokens,
        promptCachedTokens: script.usage.cachedTokens ?? 0,
        totalTokens: script.usage.promptTokens + script.usage.completionTokens,
        metadata: { modelProvider: 'livekit', modelName: MODELS.llm },
      });
    }
  });

  it('TTS metrics: ttfb as injected, characters exact, audio as sent, named livekit / cartesia/sonic-2', () => {
    const ttsMetrics = metricsOf(result, 'tts_metrics');
    const done = gateway.find('done', 'tts').filter((e) => (e.characters as number) > 0);
    expect(ttsMetrics).toHaveLength(REPLIES.length);
    expect(done.map((e) => (e.text as string).trim().replace(/\s+/g, ' '))).toEqual(REPLIES.map((r) => r.text));
    for (const [i, reply] of REPLIES.entries()) {
      const m = ttsMetrics[i]!;
      expect(m.ttfbMs as number).toBeGreaterThanOrEqual(SPEECH[i]!.ttfbMs);
      expect((m.ttfbMs as number) - SPEECH[i]!.ttfbMs).toBeLessThanOrEqual(TTS_TTFB_SLACK_MS + result.loopStallMs);
      expect(m.charactersCount).toBe(reply.text!.length);
      expect(Math.abs((m.audioDurationMs as number) - (done[i]!.audioSeconds as number) * 1000)).toBeLessThanOrEqual(1);
      expect(m.metadata).toEqual({ modelProvider: 'livekit', modelName: MODELS.tts });
    }
  });

  it('STT metrics: one per final transcript, the audio the gateway received since the previous final', () => {
    const sttMetrics = metricsOf(result, 'stt_metrics');
    const finals = gateway.find('final_transcript', 'stt');
    expect(sttMetrics).toHaveLength(finals.length);
    for (const [i, final] of finals.entries()) {
      const m = sttMetrics[i]!;
      // the client counts at send time, the gateway at arrival: a 50 ms chunk or two apart
      expect(Math.abs((m.audioDurationMs as number) / 1000 - (final.audioSecondsSinceLastFinal as number))).toBeLessThanOrEqual(0.15);
      expect(m.metadata).toEqual({ modelProvider: 'livekit', modelName: MODELS.stt });
      expect(m.requestId).toBe('stt_session_0');
    }
    const reported = sttMetrics.reduce((sum, m) => sum + (m.audioDurationMs as number) / 1000, 0);
    expect(Math.abs(reported - (finals.at(-1)!.audioSeconds as number))).toBeLessThanOrEqual(0.15);
    // audio after the last final is sent and received but never reported
    expect(gateway.receivedAudioSeconds()).toBeGreaterThan(reported);
  });

  it('EOU metrics: with STT turn detection the transcription delay reads 0, the end-of-utterance delay starts at the final', () => {
    // the inference STT emits END_OF_SPEECH right after each final (stt.ts:1236-1239); the session stamps it with
    // the time it arrives (audio_recognition.ts:1232-1237, 1452-1457), so the scripted final delay is invisible
    const eou = metricsOf(result, 'eou_metrics');
    expect(eou.map((m) => m.transcriptionDelayMs)).toEqual([0, 0, 0]);
    for (const m of eou) expect(Math.abs((m.endOfUtteranceDelayMs as number) - 300)).toBeLessThanOrEqual(30 + result.loopStallMs);
  });

  it('records the measured figures (for the compatibility table)', () => {
    const eou = metricsOf(result, 'eou_metrics');
    const table = {
      llm: metricsOf(result, 'llm_metrics').map((m, i) => ({ injectedTtft: CHAT[i]!.ttftMs, ttftMs: m.ttftMs, promptTokens: m.promptTokens, cached: m.promptCachedTokens, completion: m.completionTokens })),
      tts: metricsOf(result, 'tts_metrics').map((m, i) => ({ injectedTtfb: SPEECH[i]!.ttfbMs, ttfbMs: m.ttfbMs, characters: m.charactersCount, audioMs: m.audioDurationMs })),
      stt: metricsOf(result, 'stt_metrics').map((m, i) => ({ audioMs: m.audioDurationMs, gatewaySeconds: gateway.find('final_transcript', 'stt')[i]?.audioSecondsSinceLastFinal, injectedFinalDelay: 400 + i * 150, eouTranscriptionDelayMs: eou[i]?.transcriptionDelayMs, eouEndOfUtteranceDelayMs: eou[i]?.endOfUtteranceDelayMs })),
      gatewayReceivedSeconds: gateway.receivedAudioSeconds(),
      ttsConnections: gateway.find('connect', 'tts').length,
      emptyTtsGenerations: gateway.find('done', 'tts').filter((e) => e.characters === 0).length,
      prewarm: gateway.find('request', 'models').length,
      chatHops: gateway.find('request', 'chat').map((e, i) => {
        const upstream = gateway.upstream.find('request', 'chat')[i]!;
        const firstChunk = gateway.upstream.find('first_chunk', 'chat')[i]!;
        return { proxyMs: upstream.at - e.at, upstreamTtftMs: firstChunk.at - upstream.at, gatewayTtftMs: firstChunk.at - e.at };
      }),
      sttClockLeadMs: gateway.find('final_transcript', 'stt').map((e) => e.clockLeadMs),
    };
    if (process.env.COMPAT_DUMP) console.log(JSON.stringify(table, null, 1));
    expect(table.llm).toHaveLength(CHAT.length);
  });

  it('voicetrace: one VAD and one STT span per turn, the SDK\'s anchors, slices and turn costs that add up, usage as the SDK counts it', () => {
    expect(commonFailures(result, { userTurns: LINES.length, vad: true, stt: true })).toEqual([]);
    expect(result.summary.usageCheck).toEqual([]);
    // LiveKit Inference names itself and the model it runs; priced as that model
    expect(stageModels(result)).toEqual({ stt: [`livekit/${MODELS.stt}`], llm: [`livekit/${MODELS.llm}`], tts: [`livekit/${MODELS.tts}`] });
    for (const type of ['llm_usage', 'tts_usage', 'stt_usage'] as const) expect(usageOf(result, type as 'llm_usage')!.cost, type).toBeGreaterThan(0);
  });

  it('voicetrace: each final\'s STT report is its turn\'s audio; tokens, characters and TTFB as the SDK measured them', () => {
    const stt = sdkMetrics(result, 'stt_metrics');
    const tts = sdkMetrics(result, 'tts_metrics');
    const rows: FigureRow[] = [];
    for (let turn = 1; turn <= LINES.length; turn++) {
      const spans = turnSpans(result, turn);
      // a report's audio is split by speech overlap, so a few ms of it can land on the neighbouring turn
      expect(Math.abs(num(spans.stt[0], ATTR.STT_AUDIO_DURATION)! - stt[turn - 1]!.audioDurationMs / 1000), `turn ${turn}`).toBeLessThan(0.02);
      expect(num(spans.played, ATTR.LATENCY_TTS_TTFB), `turn ${turn}`).toBeCloseTo(tts[turn - 1]!.ttfbMs / 1000, 6);
      rows.push({ figure: 'tts.ttfb', turn, injected: SPEECH[turn - 1]!.ttfbMs / 1000, voicetrace: num(spans.played, ATTR.LATENCY_TTS_TTFB)! });
      rows.push({ figure: 'llm.ttft', turn, injected: REPLIES[turn - 1]!.ttftMs / 1000, voicetrace: num(spans.played, ATTR.LATENCY_LLM_TTFT)! });
      rows.push({ figure: 'stt.audio', turn, injected: stt[turn - 1]!.audioDurationMs / 1000, voicetrace: num(spans.stt[0], ATTR.STT_AUDIO_DURATION)! });
    }
    const llmUsage = usageOf(result, 'llm_usage')!;
    expect(llmUsage.inputTokens).toBe(CHAT.reduce((n, c) => n + c.usage.promptTokens, 0));
    expect(llmUsage.inputCachedTokens).toBe(CHAT.reduce((n, c) => n + (c.usage.cachedTokens ?? 0), 0));
    expect(usageOf(result, 'tts_usage')!.charactersCount).toBe(tts.reduce((n, m) => n + m.charactersCount, 0));
    const quirks = [
      ...(sdkMetrics(result, 'eou_metrics').every((m) => m.transcriptionDelayMs === 0) ? (['stt_end_of_speech_at_final'] as const) : []),
      ...(gateway.receivedAudioSeconds() > usageOf(result, 'stt_usage')!.audioDuration + 0.5 ? (['stt_last_window_unreported'] as const) : []),
    ];
    const entry = {
      plugin: '@livekit/agents', version: installedVersion('@livekit/agents'), role: 'LiveKit Inference STT, LLM, TTS (model strings)', scenario: 'livekit-inference', stages: ['stt', 'llm', 'tool', 'tts'],
      sources: { 'stt.latency': 'voicetrace' as const, 'stt.audio_duration': 'provider' as const, 'llm.ttft': 'provider' as const, tokens: 'provider' as const, 'tts.ttfb': 'provider' as const, cost: 'voicetrace' as const },
      quirks: [...quirks],
    };
    expect(entry).toEqual(committedEntry(entry));
    recordFigures('livekit-inference', rows, result);
  });
});

describe('LiveKit Inference: the gateway checks the access token', () => {
  let gateway: InferenceGateway;
  beforeAll(async () => {
    gateway = await startInferenceGateway({ apiKey: API_KEY, apiSecret: API_SECRET, caller: new SpeakingCaller(), transcripts: [], chat: CHAT, speech: SPEECH });
  });
  afterAll(async () => {
    await gateway?.close();
  });

  it('a token signed with another secret: STT gets the 401 error event, not retried, unrecoverable', async () => {
    const client = new inference.STT({ model: MODELS.stt, baseURL: gateway.baseUrl, apiKey: API_KEY, apiSecret: 'not-the-secret' });
    const errored = new Promise<{ error: Error; recoverable: boolean }>((resolve) => client.on('error', resolve));
    const stream = client.stream();
    const { error, recoverable } = await errored;
    stream.close();
    expect(error).toMatchObject({ statusCode: 401, retryable: false });
    expect(recoverable).toBe(false);
    expect(gateway.find('connect', 'stt').map((e) => e.auth)).toEqual(['bad signature']);
  });

  it('a token signed with another secret: TTS gets the error event, yet retries it 3 times, then gives up unrecoverable', async () => {
    const client = new inference.TTS({ model: MODELS.tts, baseURL: gateway.baseUrl, apiKey: API_KEY, apiSecret: 'not-the-secret' });
    const errors: Array<{ error: Error; recoverable: boolean }> = [];
    client.on('error', (e) => errors.push(e));
    const stream = client.stream();
    stream.pushText('Hello there.');
    stream.endInput();
    for await (const _audio of stream) {
      // no audio expected
    }
    await client.close();
    // the gateway's error event becomes a plain, retryable APIError whatever its code (tts.ts:849-858)
    expect(gateway.find('connect', 'tts').map((e) => e.auth)).toEqual(Array(4).fill('bad signature'));
    expect(errors).toHaveLength(1);
    expect(errors[0]!.recoverable).toBe(false);
    expect(errors[0]!.error.message).toContain('invalid access token');
  }, 20_000);

  it('a token signed with another secret: the LLM gets HTTP 401, not retried, unrecoverable', async () => {
    const client = new inference.LLM({ model: MODELS.llm, baseURL: gateway.baseUrl, apiKey: API_KEY, apiSecret: 'not-the-secret' });
    const errors: Array<{ error: Error; recoverable: boolean }> = [];
    client.on('error', (e) => errors.push(e));
    const chatCtx = llm.ChatContext.empty();
    chatCtx.addMessage({ role: 'user', content: 'What is the weather like?' });
    try {
      for await (const _chunk of client.chat({ chatCtx })) {
        // no chunks expected
      }
    } catch {
      // the stream ends with the error it emitted
    }
    expect(errors).toHaveLength(1);
    expect(errors[0]!.error).toMatchObject({ statusCode: 401, retryable: false });
    expect(errors[0]!.recoverable).toBe(false);
    expect(gateway.find('request', 'chat').map((e) => e.auth)).toEqual(['bad signature']);
  });
});

describe.skipIf(!speech)('LiveKit Inference: the gateway refuses the first STT and TTS connection', () => {
  const lines = LINES.slice(1);
  let result: CallResult;
  let gateway: InferenceGateway;
  beforeAll(async () => {
    ({ result, gateway } = await inferenceCall(lines, {
      sttRejectFirst: { code: 503, message: 'upstream STT unavailable' },
      ttsDropFirst: true,
    }));
  }, 180_000);
  afterAll(async () => {
    await gateway?.close();
  });

  it('STT: the 503 error event is retried on a new socket at once, silently, and the call goes on', () => {
    const connects = gateway.find('connect', 'stt');
    expect(connects).toHaveLength(2);
    expect(connects[1]!.at - gateway.find('fault', 'stt')[0]!.at).toBeLessThan(1000);
    expect(result.sdk.errors).toEqual([]);
    expect(result.sdk.messages.filter((m) => m.role === 'user').map((m) => m.text)).toEqual(lines.map((l) => l.text));
    const sttMetrics = metricsOf(result, 'stt_metrics');
    expect(sttMetrics.map((m) => m.requestId)).toEqual(['stt_session_1', 'stt_session_1']);
  });

  it('TTS: the dropped socket is retried on a new one, silently, and the reply is spoken in full', () => {
    expect(gateway.find('fault', 'tts')).toHaveLength(1);
    expect(gateway.find('connect', 'tts').length).toBeGreaterThanOrEqual(2);
    const ttsMetrics = metricsOf(result, 'tts_metrics');
    expect(ttsMetrics.map((m) => m.charactersCount)).toEqual([REPLIES[1]!.text!.length, REPLIES[2]!.text!.length]);
    const retryGap = (endpoint: string) => gateway.find('connect', endpoint)[1]!.at - gateway.find('fault', endpoint)[0]!.at;
    console.log(JSON.stringify({ sttRetryGapMs: retryGap('stt'), ttsRetryGapMs: retryGap('tts'), faultTts: ttsMetrics.map((m) => ({ ttfbMs: m.ttfbMs, audioMs: m.audioDurationMs })), faultStt: metricsOf(result, 'stt_metrics').map((m) => m.audioDurationMs), sttFaultBytes: gateway.find('audio', 'stt').filter((e) => e.accepted === false).length }));
  });
});
