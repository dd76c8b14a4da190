import { llm } from '@livekit/agents';
import * as google from '@livekit/agents-plugin-google';
import { ATTR } from '@voicetrace/conventions';
import { commonFailures, numberAttribute as num, spansNamed, usageOf } from '../src/checks.js';
import { committedEntry, installedVersion, recordFigures, type FigureRow } from '../src/results.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { compatVoiceTrace, runCall, type CallResult } from '../src/call.js';
import { SpeakingCaller } from '../src/caller.js';
import { liveUsage, startGeminiLive, type LiveTurnScript } from '../src/servers/google-live.js';
import { sileroVad, speechOrSkip } from '../src/support.js';

// first: the SDK's logger and voicetrace's tracer provider (one per process)
compatVoiceTrace();
const speech = await speechOrSkip();

export const LIVE_MODEL = 'gemini-2.5-flash-native-audio-preview-12-2025';

export const LINES = [
  { text: 'Hi, what is the weather like in Paris today?' },
  { text: 'Great, and what are your opening hours?' },
  { text: 'Thanks, that is all for today.' },
];

/** The caller's three turns as Gemini Live serves them: a tool call then its reply, and two plain replies. */
export const LIVE_TURNS: LiveTurnScript[] = [
  {
    heard: LINES[0]!.text,
    transcriptDelayMs: 300,
    toolCall: { name: 'get_weather', args: { city: 'Paris' }, afterMs: 350 },
    reply: { text: 'It is eighteen degrees and sunny in Paris. Anything else?', ttftMs: 250, usage: { promptTextTokens: 140, promptAudioTokens: 90, responseAudioTokens: 150, cachedTokens: 64 } },
  },
  {
    heard: LINES[1]!.text,
    transcriptDelayMs: 400,
    reply: { text: 'We open at nine and close at eight. On Sundays we open at ten.', ttftMs: 450, usage: { promptTextTokens: 260, promptAudioTokens: 80, responseAudioTokens: 170, cachedTokens: 128 } },
  },
  {
    heard: LINES[2]!.text,
    transcriptDelayMs: 350,
    reply: { text: 'You are welcome, goodbye!', ttftMs: 300, usage: { promptTextTokens: 420, promptAudioTokens: 60, responseAudioTokens: 70 } },
  },
];

type RealtimeMetrics = {
  type: string;
  label: string;
  ttftMs: number;
  cancelled: boolean;
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  inputTokenDetails: { audioTokens: number; textTokens: number; cachedTokens: number };
  outputTokenDetails: { audioTokens: number };
  metadata?: unknown;
};

describe.skipIf(!speech)('Gemini Live (google.realtime.RealtimeModel), server-side turn detection', () => {
  let result: CallResult;
  let live: Awaited<ReturnType<typeof startGeminiLive>>;
  beforeAll(async () => {
    const caller = new SpeakingCaller();
    live = await startGeminiLive({ caller, turns: LIVE_TURNS });
    result = await runCall({
      caller,
      // Gemini Live sends no start/end of the user's speech: the agent's own VAD says when the user spoke
      vad: await sileroVad(),
      llm: new google.realtime.RealtimeModel({ model: LIVE_MODEL, apiKey: 'gemini-test-key', httpOptions: { baseUrl: live.httpUrl } }),
      lines: LINES,
      turnHandling: { turnDetection: 'realtime_llm' },
      tools: new llm.ToolContext({
        get_weather: llm.tool({ description: 'Current weather for a city.', parameters: z.object({ city: z.string() }), execute: async ({ city }) => ({ city, temperatureC: 18 }) }),
      }),
    });
  }, 180_000);
  afterAll(async () => {
    await live?.close();
  });

  const realtimeMetrics = (): RealtimeMetrics[] => result.sdk.metrics.map((m) => m.metrics).filter((m) => m.type === 'realtime_model_metrics') as unknown as RealtimeMetrics[];

  it('the real plugin talked to the stand-in and the call completed', () => {
    const setups = live.find('setup', 'live');
    expect(setups.length).toBeGreaterThanOrEqual(1);
    expect(setups.at(-1)).toMatchObject({ model: `models/${LIVE_MODEL}`, tools: ['get_weather'], responseModalities: ['AUDIO'] });
    expect(live.find('connect', 'live').every((e) => e.key === 'gemini-test-key')).toBe(true);
    expect(live.find('input_transcription', 'live').map((e) => e.delivered)).toEqual([true, true, true]);
    expect(live.find('tool_response', 'live')).toHaveLength(1);
    expect(live.find('tool_response', 'live')[0]!.responses).toEqual([{ id: 'call-0', name: 'get_weather' }]);
    expect(live.receivedAudioSeconds()).toBeGreaterThan(3);
    expect(result.sdk.messages.filter((m) => m.role === 'user').map((m) => m.text)).toEqual(LIVE_TURNS.map((t) => t.heard));
    expect(result.sdk.messages.filter((m) => m.role === 'assistant').map((m) => m.text)).toEqual(LIVE_TURNS.map((t) => t.reply.text));
  });

  it('realtime_model_metrics carry the injected usage exactly, one per server turn', () => {
    const metrics = realtimeMetrics();
    expect(metrics).toHaveLength(LIVE_TURNS.length);
    for (const [i, turn] of LIVE_TURNS.entries()) {
      const { promptTextTokens, promptAudioTokens, responseAudioTokens, cachedTokens = 0 } = turn.reply.usage;
      expect(liveUsage(turn.reply)).toMatchObject({ promptTokenCount: promptTextTokens + promptAudioTokens });
      expect(metrics[i]).toMatchObject({
        label: 'google_realtime',
        cancelled: false,
        inputTokens: promptTextTokens + promptAudioTokens,
        outputTokens: responseAudioTokens,
        totalTokens: promptTextTokens + promptAudioTokens + responseAudioTokens,
        inputTokenDetails: { textTokens: promptTextTokens, audioTokens: promptAudioTokens, cachedTokens },
        outputTokenDetails: { audioTokens: responseAudioTokens },
      });
      expect(metrics[i]!.metadata).toBeUndefined();
    }
  });

  it('realtime ttft is first audio minus the generation\'s first message (within 30 ms), so about 0 after a tool', () => {
    const metrics = realtimeMetrics();
    const firstAudio = live.find('first_audio', 'live');
    for (const [i, audio] of firstAudio.entries()) {
      expect(Math.abs(metrics[i]!.ttftMs - (audio.pluginTtftMs as number))).toBeLessThanOrEqual(30 + result.loopStallMs);
    }
    expect(metrics[0]!.ttftMs).toBeLessThanOrEqual(30 + result.loopStallMs);
    expect(Math.abs((firstAudio[0]!.sinceRequestMs as number) - LIVE_TURNS[0]!.reply.ttftMs)).toBeLessThanOrEqual(30 + result.loopStallMs);
    for (const i of [1, 2]) expect(Math.abs(metrics[i]!.ttftMs - LIVE_TURNS[i]!.reply.ttftMs)).toBeLessThanOrEqual(30 + result.loopStallMs);
    if (process.env.COMPAT_DUMP) console.log(JSON.stringify({ firstAudio, metrics, errors: result.sdk.errors, usage: result.sdk.usage }));
  });

  it('voicetrace: a user turn per utterance, named gcp.gemini after the plugin (its metrics name no provider), tokens by modality as served, turn costs that add up', () => {
    expect(commonFailures(result, { userTurns: LINES.length, vad: false, stt: false, realtime: true })).toEqual([]);
    expect(result.summary.usageCheck).toEqual([]);
    const usage = usageOf(result, 'llm_usage')!;
    expect([usage.provider, usage.model]).toEqual(['gcp.gemini', LIVE_MODEL]);
    expect(usage.inputAudioTokens).toBe(LIVE_TURNS.reduce((n, t) => n + t.reply.usage.promptAudioTokens, 0));
    expect(usage.outputAudioTokens).toBe(LIVE_TURNS.reduce((n, t) => n + t.reply.usage.responseAudioTokens, 0));
    const responses = spansNamed(result, 'realtime_inference');
    expect(responses.every((s) => s.attributes[ATTR.PROVIDER_NAME] === 'gcp.gemini')).toBe(true);
    // the tool call's generation reports no metrics: the replies' responses carry the time to first audio
    const replies = responses.filter((s) => num(s, ATTR.TIME_TO_FIRST_CHUNK) !== undefined);
    expect(replies).toHaveLength(LIVE_TURNS.length);
    const rows: FigureRow[] = replies.map((s, i) => ({ figure: 'realtime ttft', turn: i + 1, injected: LIVE_TURNS[i]!.reply.ttftMs / 1000, voicetrace: num(s, ATTR.TIME_TO_FIRST_CHUNK)! }));
    const entry = {
      plugin: '@livekit/agents-plugin-google', version: installedVersion('@livekit/agents-plugin-google'), role: 'Realtime (Gemini Live)', scenario: 'google-live', stages: ['realtime', 'tool'],
      sources: { 'realtime ttft': 'provider' as const, 'tokens by modality': 'provider' as const, e2e: 'voicetrace' as const, 'realtime.cost': 'voicetrace' as const },
      quirks: ['realtime_ttft_after_tool_zero' as const],
    };
    expect(entry).toEqual(committedEntry(entry));
    recordFigures('google-live', rows, result);
  });
});
