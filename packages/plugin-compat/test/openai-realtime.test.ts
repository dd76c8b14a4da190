import { llm } from '@livekit/agents';
import * as openai from '@livekit/agents-plugin-openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { compatVoiceTrace, runCall, type CallLine, type CallResult } from '../src/call.js';
import { SpeakingCaller } from '../src/caller.js';
import { REALTIME_SAMPLE_RATE, realtimeUsageWire, startOpenAiRealtime, type RealtimeTurnScript, type RealtimeUsage } from '../src/servers/openai-realtime.js';
import { ATTR } from '@voicetrace/conventions';
import { commonFailures, numberAttribute as num, spansNamed, usageOf } from '../src/checks.js';
import { committedEntry, installedVersion, recordFigures, type FigureRow } from '../src/results.js';
import { spanTimes, speechOrSkip } from '../src/support.js';

// first: the SDK's logger and voicetrace's tracer provider (one per process)
compatVoiceTrace();
const speech = await speechOrSkip();

/** 30 ms: the tolerance for a timing figure on a loaded 2-core machine. */
const TIMING_MS = 30;

export const REALTIME_MODEL = 'gpt-realtime';
/** OpenAI's server_vad silence window, set on the model so the stand-in reads it from session.update. */
export const SILENCE_MS = 500;

export const LINES: CallLine[] = [
  { text: 'Hi, what is the weather like in Paris today?' },
  { text: 'Great, and what are your opening hours?' },
  { text: 'Sorry, do you open on Sundays?', bargeInAfterMs: 1200 },
  { text: 'Thanks, that is all for today.' },
];

const usage = (inputText: number, inputAudio: number, outputText: number, outputAudio: number, cachedText = 0, cachedAudio = 0): RealtimeUsage => ({
  inputTextTokens: inputText, inputAudioTokens: inputAudio, outputTextTokens: outputText, outputAudioTokens: outputAudio, cachedTextTokens: cachedText, cachedAudioTokens: cachedAudio,
});

/**
 * The caller's four turns as the Realtime API serves them: a function call then the reply the agent asks for,
 * a long reply paced in real time that the caller talks over (the server cancels it), and two plain replies.
 */
export const REALTIME_TURNS: RealtimeTurnScript[] = [
  {
    heard: LINES[0]!.text,
    transcriptDelayMs: 250,
    toolCall: { name: 'get_weather', arguments: { city: 'Paris' }, afterMs: 300, usage: usage(180, 60, 18, 0, 128) },
    reply: { text: 'It is eighteen degrees and sunny in Paris. Anything else?', ttftMs: 280, usage: usage(230, 60, 15, 140, 192) },
  },
  {
    heard: LINES[1]!.text,
    transcriptDelayMs: 350,
    reply: {
      text: 'We open at nine in the morning and close at eight in the evening, every day of the week except public holidays.',
      ttftMs: 420,
      chunkIntervalMs: 100,
      usage: usage(300, 70, 28, 260, 256, 32),
    },
  },
  {
    heard: LINES[2]!.text,
    transcriptDelayMs: 300,
    reply: { text: 'Yes, on Sundays we open at ten and close at four.', ttftMs: 360, usage: usage(340, 50, 13, 120, 256) },
  },
  {
    heard: LINES[3]!.text,
    transcriptDelayMs: 200,
    reply: { text: 'You are welcome, goodbye!', ttftMs: 300, usage: usage(380, 40, 7, 60, 320) },
  },
];

/** The reconnection fault: the second reply is cut 500 ms into its audio by a dropped connection. */
export const FAULT_LINES: CallLine[] = [LINES[1]!, { text: LINES[2]!.text }, LINES[3]!];
export const FAULT_TURNS: RealtimeTurnScript[] = [
  { ...REALTIME_TURNS[1]!, reply: { ...REALTIME_TURNS[1]!.reply, chunkIntervalMs: undefined, text: 'We open at nine and close at eight.' } },
  { ...REALTIME_TURNS[2]!, reply: { ...REALTIME_TURNS[2]!.reply, chunkIntervalMs: 100, text: 'Yes, on Sundays we open at ten in the morning and close at four in the afternoon.' } },
  REALTIME_TURNS[3]!,
];
export const FAULT_DROP = { utterance: 1, afterFirstAudioMs: 500 };

/**
 * The plugin's model pointed at the stand-in. It names its provider after `baseURL`'s host
 * (realtime_model.ts:171-178), which a stand-in turns into `127.0.0.1:PORT`; a WebSocket has no
 * `fetch` to redirect (as `redirectFetch` does for REST), so only that name is overridden, to what
 * the same plugin reports against OpenAI. Everything on the wire is the plugin's own.
 */
class StandInRealtimeModel extends openai.realtime.RealtimeModel {
  override get provider(): string {
    return 'api.openai.com';
  }
}

const realtimeModel = (standInUrl: string): StandInRealtimeModel =>
  new StandInRealtimeModel({
    model: REALTIME_MODEL,
    apiKey: 'sk-test',
    // http(s) become ws(s) and /v1 gets /realtime (realtime_model.ts:386-438)
    baseURL: `${standInUrl}/v1`,
    turnDetection: { type: 'server_vad', threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: SILENCE_MS, create_response: true, interrupt_response: true },
  });

const weatherTool = () =>
  new llm.ToolContext({
    get_weather: llm.tool({ description: 'Current weather for a city.', parameters: z.object({ city: z.string() }), execute: async ({ city }) => ({ city, temperatureC: 18 }) }),
  });

type RealtimeMetrics = {
  type: string;
  label: string;
  requestId: string;
  timestamp: number;
  ttftMs: number;
  durationMs: number;
  cancelled: boolean;
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
  inputTokenDetails: { audioTokens: number; textTokens: number; imageTokens: number; cachedTokens: number; cachedTokensDetails?: { audioTokens: number; textTokens: number; imageTokens: number } };
  outputTokenDetails: { textTokens: number; audioTokens: number; imageTokens: number };
  metadata?: unknown;
};

const realtimeMetrics = (result: CallResult): RealtimeMetrics[] =>
  result.sdk.metrics.map((m) => m.metrics).filter((m) => m.type === 'realtime_model_metrics') as unknown as RealtimeMetrics[];

/** What the plugin's metrics should read for a `usage` the stand-in sent (realtime_model.ts:2011-2033). */
function expectedTokens(wire: Record<string, any>): Partial<RealtimeMetrics> {
  return {
    inputTokens: wire.input_tokens,
    outputTokens: wire.output_tokens,
    totalTokens: wire.total_tokens,
    inputTokenDetails: {
      audioTokens: wire.input_token_details.audio_tokens,
      textTokens: wire.input_token_details.text_tokens,
      imageTokens: 0,
      cachedTokens: wire.input_token_details.cached_tokens,
      cachedTokensDetails: {
        audioTokens: wire.input_token_details.cached_tokens_details.audio_tokens,
        textTokens: wire.input_token_details.cached_tokens_details.text_tokens,
        imageTokens: 0,
      },
    },
    outputTokenDetails: { textTokens: wire.output_token_details.text_tokens, audioTokens: wire.output_token_details.audio_tokens, imageTokens: 0 },
  };
}

describe.skipIf(!speech)('OpenAI Realtime (openai.realtime.RealtimeModel), server_vad turn detection, a tool call and a barge-in', () => {
  let result: CallResult;
  let rt: Awaited<ReturnType<typeof startOpenAiRealtime>>;
  let model: StandInRealtimeModel;
  beforeAll(async () => {
    // a room delivers 24 kHz to a realtime agent: the plugin sends the frames as they come (realtime_model.ts:2141-2143)
    const caller = new SpeakingCaller(REALTIME_SAMPLE_RATE);
    rt = await startOpenAiRealtime({ caller, turns: REALTIME_TURNS });
    model = realtimeModel(rt.httpUrl);
    result = await runCall({ caller, llm: model, lines: LINES, turnHandling: { turnDetection: 'realtime_llm' }, tools: weatherTool(), instrument: { serverVadSilenceSeconds: SILENCE_MS / 1000 } });
  }, 180_000);
  afterAll(async () => {
    await rt?.close();
  });

  it('the real plugin talked to the stand-in and the call completed', () => {
    const connects = rt.find('connect', 'realtime');
    expect(connects).toHaveLength(1);
    expect(connects[0]).toMatchObject({ path: '/v1/realtime', model: REALTIME_MODEL, auth: 'Bearer sk-test', userAgent: 'LiveKit-Agents-JS' });
    const updates = rt.find('session_update', 'realtime');
    expect(updates[0]).toMatchObject({ model: REALTIME_MODEL, turnDetection: { type: 'server_vad', silence_duration_ms: SILENCE_MS }, transcriptionModel: 'gpt-4o-mini-transcribe', outputModalities: ['audio'] });
    expect(updates.some((u) => (u.tools as string[] | undefined)?.includes('get_weather'))).toBe(true);
    expect(updates.some((u) => u.hasInstructions)).toBe(true);
    expect(rt.find('speech_stopped', 'realtime').map((e) => e.silenceMs)).toEqual(LINES.map(() => SILENCE_MS));
    expect(rt.find('transcript', 'realtime').map((e) => e.delivered)).toEqual(LINES.map(() => true));
    // the plugin sends the microphone's frames unresampled (realtime_model.ts:2141-2143): at the room's 24 kHz the
    // server's audio clock keeps the wall clock's pace (a 48 kHz input would run it twice as fast)
    for (const [i, started] of rt.find('speech_started', 'realtime').entries()) {
      const stopped = rt.find('speech_stopped', 'realtime')[i]!;
      const pace = ((stopped.audioMs as number) - (started.audioMs as number)) / (stopped.at - started.at);
      expect(pace, `utterance ${i}`).toBeCloseTo(1, 1);
    }
    expect(result.sdk.messages.filter((m) => m.role === 'user').map((m) => m.text)).toEqual(REALTIME_TURNS.map((t) => t.heard));
    const assistant = result.sdk.messages.filter((m) => m.role === 'assistant');
    expect(assistant.map((m) => m.interrupted)).toEqual([false, true, false, false]);
    expect(assistant[0]!.text).toBe(REALTIME_TURNS[0]!.reply.text);
    expect(REALTIME_TURNS[1]!.reply.text.startsWith(assistant[1]!.text)).toBe(true);
    expect(assistant.slice(2).map((m) => m.text)).toEqual(REALTIME_TURNS.slice(2).map((t) => t.reply.text));
    expect(result.sdk.errors).toEqual([]);
  });

  it('the plugin leaves its socket open after the session closed (close() awaits the Task object, not its result)', () => {
    // realtime_model.ts:1472-1477: `await this.#task` on a Task (no `then`) returns at once, and the run loop
    // sees `#closed` only when its next client event is queued, which never comes: no close reaches the server
    expect(rt.find('close', 'realtime')).toEqual([]);
    const entry = {
      plugin: '@livekit/agents-plugin-openai', version: installedVersion('@livekit/agents-plugin-openai'), role: 'Realtime (gpt-realtime, server VAD)', scenario: 'openai-realtime-close', stages: ['realtime'],
      sources: {}, quirks: ['realtime_socket_left_open' as const],
    };
    expect(entry).toEqual(committedEntry(entry));
  });

  it('the tool turn: a function_call item, the tool output created, then the reply the agent asked for with its client_event_id', () => {
    const call = rt.find('function_call', 'realtime');
    expect(call).toHaveLength(1);
    expect(call[0]).toMatchObject({ utterance: 0, name: 'get_weather', arguments: '{"city":"Paris"}' });
    const output = rt.find('item_create', 'realtime').filter((e) => e.itemType === 'function_call_output');
    expect(output.map((e) => e.callId)).toEqual([call[0]!.callId]);
    const create = rt.find('response_create', 'realtime');
    expect(create).toHaveLength(1);
    expect(create[0]!.clientEventId).toMatch(/^response_create_/);
    const created = rt.find('response_created', 'realtime');
    expect(created.map((e) => [e.utterance, e.kind, e.trigger])).toEqual([
      [0, 'function_call', 'server_vad'],
      [0, 'audio', 'response.create'],
      [1, 'audio', 'server_vad'],
      [2, 'audio', 'server_vad'],
      [3, 'audio', 'server_vad'],
    ]);
    expect(created[1]!.clientEventId).toBe(create[0]!.clientEventId);
  });

  it('the barge-in: speech_started during the reply, the server cancels it (interrupt_response), the plugin\'s own response.cancel finds none, the played part is truncated', () => {
    const started = rt.find('speech_started', 'realtime');
    const interrupted = rt.find('response_created', 'realtime')[2]!.responseId;
    expect(started[2]!.during).toBe(interrupted);
    expect(rt.find('cancel', 'realtime')).toEqual([expect.objectContaining({ responseId: interrupted, by: 'server_vad', reason: 'turn_detected' })]);
    const requests = rt.find('cancel_request', 'realtime');
    expect(requests.length).toBeGreaterThanOrEqual(1);
    expect(requests.every((r) => r.active === false)).toBe(true);
    expect(requests[0]!.at).toBeGreaterThanOrEqual(started[2]!.at);
    const truncate = rt.find('truncate', 'realtime');
    expect(truncate).toHaveLength(1);
    expect(truncate[0]!.audioEndMs as number).toBeGreaterThan(0);
  });

  it('one realtime_model_metrics per response.done, with the usage sent exactly, cancelled for the interrupted one, and no provider metadata', () => {
    const metrics = realtimeMetrics(result);
    const done = rt.find('response_done', 'realtime');
    expect(done).toHaveLength(5);
    expect(metrics.map((m) => m.requestId)).toEqual(done.map((d) => d.responseId));
    for (const [i, d] of done.entries()) {
      expect(metrics[i], `response ${i}`).toMatchObject({ label: 'openai_realtime', cancelled: d.status === 'cancelled', ...expectedTokens(d.usage as Record<string, any>) });
      expect(metrics[i]!.metadata).toBeUndefined();
    }
    expect(done.map((d) => d.status)).toEqual(['completed', 'completed', 'cancelled', 'completed', 'completed']);
    // the completed responses carry the script's usage as is
    const scripted = [REALTIME_TURNS[0]!.toolCall!.usage, REALTIME_TURNS[0]!.reply.usage, undefined, REALTIME_TURNS[2]!.reply.usage, REALTIME_TURNS[3]!.reply.usage];
    scripted.forEach((u, i) => u && expect(done[i]!.usage).toEqual(realtimeUsageWire(u)));
    expect(model.model).toBe(REALTIME_MODEL);
    expect(new openai.realtime.RealtimeModel({ apiKey: 'sk-test', baseURL: `${rt.httpUrl}/v1` }).provider).toBe(rt.httpUrl.replace('http://', ''));
  });

  it('realtime ttft is content_part.added minus response.created (the injected first-audio delay, within 30 ms); a function call has none (-1)', () => {
    const metrics = realtimeMetrics(result);
    const firstAudio = new Map(rt.find('first_audio', 'realtime').map((e) => [e.responseId, e]));
    const replies = [REALTIME_TURNS[0]!.reply, REALTIME_TURNS[1]!.reply, REALTIME_TURNS[2]!.reply, REALTIME_TURNS[3]!.reply];
    expect(metrics[0]!.ttftMs).toBe(-1);
    for (const [i, m] of metrics.slice(1).entries()) {
      expect(Math.abs(m.ttftMs - replies[i]!.ttftMs), `reply ${i}`).toBeLessThanOrEqual(TIMING_MS + result.loopStallMs);
      expect(Math.abs(m.ttftMs - (firstAudio.get(m.requestId)!.sinceCreatedMs as number)), `reply ${i}`).toBeLessThanOrEqual(TIMING_MS + result.loopStallMs);
    }
    if (process.env.COMPAT_DUMP) console.log(JSON.stringify({ metrics, events: rt.events, errors: result.sdk.errors, usage: result.sdk.usage }));
  });

  it('voicetrace: a user turn per utterance (from the speech, the SDK opens none), slices that add up, turn costs that add up, usage as the SDK counts it', () => {
    expect(commonFailures(result, { userTurns: LINES.length, vad: false, stt: false, realtime: true })).toEqual([]);
    expect(result.summary.usageCheck).toEqual([]);
  });

  it('voicetrace: every response\'s tokens by modality exactly as served, priced', () => {
    const responses = spansNamed(result, 'realtime_inference');
    const done = rt.find('response_done', 'realtime');
    expect(responses).toHaveLength(done.length);
    for (const [i, d] of done.entries()) {
      const wire = d.usage as Record<string, any>;
      const span = responses[i];
      expect(num(span, ATTR.USAGE_INPUT_TOKENS) ?? span!.attributes['gen_ai.usage.input_tokens'], `response ${i}`).toBe(wire.input_tokens);
      expect(span!.attributes[ATTR.USAGE_AUDIO_INPUT] ?? num(span, 'gen_ai.usage.audio.input_tokens'), `response ${i}`).toBe(wire.input_token_details.audio_tokens);
      expect(num(span, ATTR.COST), `response ${i}`).toBeGreaterThan(0);
    }
    const usage = usageOf(result, 'llm_usage')!;
    expect(usage.inputAudioTokens).toBe(done.reduce((n, d) => n + (d.usage as any).input_token_details.audio_tokens, 0));
    expect(usage.outputAudioTokens).toBe(done.reduce((n, d) => n + (d.usage as any).output_token_details.audio_tokens, 0));
    expect(usage.inputCachedTokens).toBe(done.reduce((n, d) => n + (d.usage as any).input_token_details.cached_tokens, 0));
  });

  it('voicetrace: the wait is from the caller\'s end of speech (the server\'s silence window taken back) to the agent\'s first audio', () => {
    const played = spansNamed(result, 'agent_turn').filter((s) => num(s, ATTR.LATENCY_E2E) !== undefined);
    expect(played).toHaveLength(LINES.length);
    const rows: FigureRow[] = [];
    for (const [i, span] of played.entries()) {
      const speaking = result.spans.find((s) => s.name === 'agent_speaking' && s.parentSpanContext?.spanId === span.spanContext().spanId)!;
      const truth = spanTimes(speaking).start - result.spoken[i]!.voiceEndAt / 1000;
      expect(Math.abs(num(span, ATTR.LATENCY_E2E)! - truth), `turn ${i + 1}`).toBeLessThan((TIMING_MS + result.loopStallMs) / 1000);
      expect(num(span, ATTR.LATENCY_EOU_DELAY)).toBeCloseTo(SILENCE_MS / 1000, 6);
      rows.push({ figure: 'e2e (realtime)', turn: i + 1, injected: truth, voicetrace: num(span, ATTR.LATENCY_E2E)! });
      rows.push({ figure: 'realtime ttft', turn: i + 1, injected: REALTIME_TURNS[i]!.reply.ttftMs / 1000, voicetrace: num(span, ATTR.LATENCY_LLM_TTFT)! });
    }
    expect(played.map((s) => s.attributes[ATTR.TURN_INTERRUPTED])).toEqual([false, true, false, false]);
    const entry = {
      plugin: '@livekit/agents-plugin-openai', version: installedVersion('@livekit/agents-plugin-openai'), role: 'Realtime (gpt-realtime, server VAD)', scenario: 'openai-realtime', stages: ['realtime', 'tool', 'interruption'],
      sources: { 'realtime ttft': 'provider' as const, 'tokens by modality': 'provider' as const, e2e: 'voicetrace' as const, 'realtime.cost': 'voicetrace' as const },
      quirks: [],
    };
    expect(entry).toEqual(committedEntry(entry));
    recordFigures('openai-realtime', rows, result);
  });
});

describe.skipIf(!speech)('OpenAI Realtime: the server drops the connection mid-reply once', () => {
  let result: CallResult;
  let rt: Awaited<ReturnType<typeof startOpenAiRealtime>>;
  beforeAll(async () => {
    const caller = new SpeakingCaller(REALTIME_SAMPLE_RATE);
    rt = await startOpenAiRealtime({ caller, turns: FAULT_TURNS, dropSocket: FAULT_DROP });
    result = await runCall({ caller, llm: realtimeModel(rt.httpUrl), lines: FAULT_LINES, turnHandling: { turnDetection: 'realtime_llm' }, tools: weatherTool(), instrument: { serverVadSilenceSeconds: SILENCE_MS / 1000 } });
  }, 180_000);
  afterAll(async () => {
    await rt?.close();
  });

  it('the plugin reconnects at once, replays the session and the conversation\'s messages, and the call goes on', () => {
    const fault = rt.find('fault', 'realtime');
    expect(fault).toHaveLength(1);
    // every utterance heard, the first one's start once the plugin had connected
    expect(rt.find('speech_started', 'realtime').map((e) => e.utterance)).toEqual([0, 1, 2]);
    const connects = rt.find('connect', 'realtime');
    expect(connects).toHaveLength(2);
    expect(connects[1]!.at - fault[0]!.at).toBeLessThan(1000);
    const replayed = rt.events.filter((e) => e.connection === 2 && (e.type === 'session_update' || e.type === 'item_create'));
    expect(replayed.filter((e) => e.type === 'session_update').map((e) => e.tools ?? [])).toEqual([[], ['get_weather']]);
    // the messages the plugin knew, with text: the first exchange and the second question (the cut reply had no text yet)
    expect(replayed.filter((e) => e.type === 'item_create').map((e) => e.role)).toEqual(['user', 'assistant', 'user']);
    expect(result.sdk.messages.filter((m) => m.role === 'user').map((m) => m.text)).toEqual(FAULT_TURNS.map((t) => t.heard));
    if (process.env.COMPAT_DUMP) console.log(JSON.stringify({ metrics: realtimeMetrics(result), events: rt.events.filter((e) => e.type !== 'session_update'), errors: result.sdk.errors, messages: result.sdk.messages }));
  });

  it('the cut response never reports: metrics for the other two only, and no error reaches the session', () => {
    const metrics = realtimeMetrics(result);
    const done = rt.find('response_done', 'realtime');
    expect(done.map((d) => d.utterance)).toEqual([0, 2]);
    expect(metrics.map((m) => m.requestId)).toEqual(done.map((d) => d.responseId));
    expect(metrics.every((m) => !m.cancelled)).toBe(true);
    expect(result.sdk.errors).toEqual([]);
  });
});
