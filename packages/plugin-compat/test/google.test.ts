import { llm } from '@livekit/agents';
import * as deepgram from '@livekit/agents-plugin-deepgram';
import * as google from '@livekit/agents-plugin-google';
import * as openai from '@livekit/agents-plugin-openai';
import { OpenAI } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { compatVoiceTrace, runCall, type CallResult } from '../src/call.js';
import { SpeakingCaller } from '../src/caller.js';
import type { StandInServer } from '../src/servers/base.js';
import { startDeepgramStt, type TranscriptScript } from '../src/servers/deepgram.js';
import { geminiServed, startGemini, withGeminiBaseUrl, type GeminiScript } from '../src/servers/google.js';
import { redirectFetch, startOpenAi } from '../src/servers/openai.js';
import { ATTR } from '@voicetrace/conventions';
import { commonFailures, numberAttribute as num, reportErrors, sdkMetrics, spansNamed, stageModels, usageOf } from '../src/checks.js';
import { committedEntry, installedVersion, recordFigures, type FigureRow } from '../src/results.js';
import { sileroVad, speechOrSkip } from '../src/support.js';

// first: the SDK's logger and voicetrace's tracer provider (one per process)
compatVoiceTrace();
const speech = await speechOrSkip();

export const GEMINI_MODEL = 'gemini-2.5-flash';

export const LINES = [
  { text: 'Hi, what is the weather like in Paris today?' },
  { text: 'Great, and what are your opening hours?' },
  { text: 'Thanks, that is all for today.' },
];

export const TRANSCRIPTS: TranscriptScript[] = LINES.map((l, i) => ({ text: l.text, finalDelayMs: 500 + i * 200 }));

/**
 * The Gemini requests of the call, in order: a function call, the reply after its result, a reply whose
 * first attempt gets a 503 (with thought tokens, which only the total counts), a plain reply.
 */
export const GEMINI_SCRIPTS: GeminiScript[] = [
  { when: 'weather', functionCalls: [{ name: 'get_weather', args: { city: 'Paris' } }], ttftMs: 400, usage: { promptTokens: 120, candidatesTokens: 12, cachedTokens: 64 } },
  { when: 'tool:get_weather', text: 'It is eighteen degrees and sunny in Paris. Anything else?', ttftMs: 300, usage: { promptTokens: 160, candidatesTokens: 14, cachedTokens: 128 } },
  {
    when: 'opening hours',
    text: 'We open at nine and close at eight. On Sundays we open at ten. Holidays can differ.',
    ttftMs: 350,
    usage: { promptTokens: 200, candidatesTokens: 20, cachedTokens: 128, thoughtsTokens: 24 },
    fail: { status: 503, times: 1 },
  },
  { when: 'that is all', text: 'You are welcome, goodbye!', ttftMs: 250, usage: { promptTokens: 230, candidatesTokens: 6 } },
];

type LlmMetrics = { timestamp: number; durationMs: number; ttftMs: number; promptTokens: number; completionTokens: number; promptCachedTokens: number; totalTokens: number; label: string; metadata?: { modelProvider?: string; modelName?: string } };

describe.skipIf(!speech)('Gemini LLM (google.LLM), Deepgram streaming STT, OpenAI TTS, Silero VAD', () => {
  let result: CallResult;
  let gemini: StandInServer;
  let oa: StandInServer;
  let dg: Awaited<ReturnType<typeof startDeepgramStt>>;
  beforeAll(async () => {
    const caller = new SpeakingCaller();
    gemini = await startGemini({ generate: GEMINI_SCRIPTS });
    oa = await startOpenAi({ speech: { ttfbMs: 200 } });
    dg = await startDeepgramStt({ caller, transcripts: TRANSCRIPTS });
    const client = new OpenAI({ apiKey: 'sk-test', baseURL: 'https://api.openai.com/v1', fetch: redirectFetch(oa.httpUrl), maxRetries: 0 });
    result = await runCall({
      caller,
      stt: new deepgram.STT({ apiKey: 'dg-test', baseUrl: dg.wsUrl }),
      vad: await sileroVad(),
      llm: withGeminiBaseUrl(gemini.httpUrl, () => new google.LLM({ model: GEMINI_MODEL, apiKey: 'gemini-test-key' })),
      tts: new openai.TTS({ model: 'tts-1', client }),
      lines: LINES,
      // a ToolContext: runCall's `tools` is typed as one, not as the SDK's ToolContextLike
      tools: new llm.ToolContext({
        get_weather: llm.tool({ description: 'Current weather for a city.', parameters: z.object({ city: z.string() }), execute: async ({ city }) => ({ city, temperatureC: 18 }) }),
      }),
    });
  }, 180_000);
  afterAll(async () => {
    await gemini?.close();
    await oa?.close();
    await dg?.close();
  });

  const llmMetrics = (): LlmMetrics[] => result.sdk.metrics.map((m) => m.metrics).filter((m) => m.type === 'llm_metrics') as unknown as LlmMetrics[];

  it('the real plugin talked to the stand-ins and the call completed', () => {
    expect(dg.find('final_transcript').map((e) => e.delivered)).toEqual([true, true, true]);
    expect(result.sdk.messages.filter((m) => m.role === 'user').map((m) => m.text)).toEqual(LINES.map((l) => l.text));
    const requests = gemini.find('request', 'generate');
    expect(requests.map((e) => e.matched)).toEqual(['weather', 'tool:get_weather', 'opening hours', 'opening hours', 'that is all']);
    expect(requests.every((e) => e.model === GEMINI_MODEL && e.method === 'streamGenerateContent' && e.alt === 'sse' && e.apiKey === 'gemini-test-key')).toBe(true);
    expect(requests[0]!.tools).toEqual(['get_weather']);
    // the function call's thought signature came back on the request with its result
    expect((requests[1]!.echoedSignatures as string[]).length).toBe(1);
    // the prewarm went to the stand-in too (via GOOGLE_GEMINI_BASE_URL)
    expect(gemini.find('list', 'models').length).toBeGreaterThanOrEqual(1);
    const assistant = result.sdk.messages.filter((m) => m.role === 'assistant').map((m) => m.text);
    expect(assistant).toEqual(GEMINI_SCRIPTS.filter((s) => s.text).map((s) => s.text));
  });

  it('llm_metrics carry the injected usage exactly, under the names the plugin reports', () => {
    const metrics = llmMetrics();
    expect(metrics).toHaveLength(GEMINI_SCRIPTS.length);
    for (const [i, script] of GEMINI_SCRIPTS.entries()) {
      const { promptTokens, candidatesTokens, cachedTokens = 0, thoughtsTokens = 0 } = script.usage;
      expect(metrics[i]).toMatchObject({
        label: 'google.LLM',
        promptTokens,
        completionTokens: candidatesTokens,
        promptCachedTokens: cachedTokens,
        totalTokens: promptTokens + candidatesTokens + thoughtsTokens,
        metadata: { modelProvider: 'Gemini', modelName: GEMINI_MODEL },
      });
    }
  });

  it('llm_metrics ttft runs from the stream\'s start (first attempt included) to the served first chunk (within 30 ms)', () => {
    const metrics = llmMetrics();
    const served = geminiServed(gemini, GEMINI_SCRIPTS);
    expect(served.map((s) => s.when)).toEqual(GEMINI_SCRIPTS.map((s) => s.when));
    for (const [i, script] of GEMINI_SCRIPTS.entries()) {
      const m = metrics[i]!;
      // the SDK's clock starts when the stream is created (timestamp is its end): before the request reaches the server
      const streamStart = m.timestamp - m.durationMs;
      // plus any stall of this process's event loop, during which the SDK could not read its clock
      expect(Math.abs(m.ttftMs - (served[i]!.firstChunkAt - streamStart))).toBeLessThanOrEqual(30 + result.loopStallMs);
      // so it reads the served delay plus the plugin's own time to send the request (measured 5-25 ms)
      expect(m.ttftMs).toBeGreaterThanOrEqual(served[i]!.ttftMs - 2);
      expect(m.ttftMs - served[i]!.ttftMs).toBeLessThanOrEqual(60 + result.loopStallMs);
      if (!script.fail) expect(Math.abs(served[i]!.ttftMs - script.ttftMs)).toBeLessThanOrEqual(30 + result.loopStallMs);
    }
    if (process.env.COMPAT_DUMP) console.log(JSON.stringify({ served: served.map(({ usage: _, ...s }) => s), metrics, errors: result.sdk.errors }));
  });

  it('a 503 is retried by the SDK, which reports a recoverable llm error', () => {
    const fault = gemini.find('fault', 'generate');
    expect(fault).toHaveLength(1);
    expect(fault[0]).toMatchObject({ status: 503, when: 'opening hours' });
    const retried = gemini.find('request', 'generate').filter((e) => e.matched === 'opening hours');
    expect(retried[1]!.at).toBeGreaterThan(fault[0]!.at);
    expect(gemini.find('first_chunk', 'generate').filter((e) => e.when === 'opening hours')).toHaveLength(1);
    // the plugin maps the SDK's ApiError by `.code`, which it lacks: the 503 becomes a retryable connection error
    expect(result.sdk.errors).toHaveLength(1);
    expect(result.sdk.errors[0]).toMatchObject({ type: 'llm_error', label: 'google.LLM', recoverable: true });
    expect(result.sdk.errors[0]!.message).toContain('Google LLM: API error');
  });

  it('voicetrace: one VAD and one STT span per turn, slices and turn costs that add up, one provider/model, usage as the SDK counts it', () => {
    expect(commonFailures(result, { userTurns: LINES.length, vad: true, stt: true })).toEqual([]);
    // OpenAI's tts-1 runs behind the SDK's stream adapter, whose report the SDK counts on top
    expect(new Set(result.summary.usageCheck.map((d) => d.cause))).toEqual(new Set(['sdk_counts_stream_adapter_report']));
    expect(stageModels(result).llm).toEqual([`gcp.gemini/${GEMINI_MODEL}`]);
  });

  it('voicetrace: tokens (cached included) exactly as served, TTFT as the SDK measured, priced; the 503 is one LLM error, counted once', () => {
    const usage = usageOf(result, 'llm_usage')!;
    expect(usage.inputTokens).toBe(GEMINI_SCRIPTS.reduce((n, g) => n + g.usage.promptTokens, 0));
    expect(usage.inputCachedTokens).toBe(GEMINI_SCRIPTS.reduce((n, g) => n + (g.usage.cachedTokens ?? 0), 0));
    expect(usage.outputTokens).toBe(GEMINI_SCRIPTS.reduce((n, g) => n + g.usage.candidatesTokens, 0));
    expect(usage.requests).toBe(GEMINI_SCRIPTS.length);
    expect(usage.cost).toBeGreaterThan(0);
    const requests = spansNamed(result, 'llm_request');
    const metrics = sdkMetrics(result, 'llm_metrics');
    const rows: FigureRow[] = [];
    for (const [i, span] of requests.entries()) {
      expect(num(span, ATTR.TIME_TO_FIRST_CHUNK), `request ${i}`).toBeCloseTo(metrics[i]!.ttftMs / 1000, 6);
      rows.push({ figure: 'llm.ttft', turn: i, injected: GEMINI_SCRIPTS[i]!.ttftMs / 1000, voicetrace: num(span, ATTR.TIME_TO_FIRST_CHUNK)! });
    }
    expect(result.summary.errors).toBe(1);
    expect(reportErrors(result)).toMatchObject([{ turn: 2, source: 'google.LLM', recoverable: true }]);
    const entry = {
      plugin: '@livekit/agents-plugin-google', version: installedVersion('@livekit/agents-plugin-google'), role: 'LLM (Gemini API, streamGenerateContent)', scenario: 'google', stages: ['llm', 'tool'],
      sources: { 'llm.ttft': 'provider' as const, 'tokens (cached included)': 'provider' as const, 'llm.cost': 'voicetrace' as const },
      quirks: ['llm_5xx_as_connection_error' as const],
    };
    expect(entry).toEqual(committedEntry(entry));
    recordFigures('google', rows, result);
  });
});
