import * as deepgram from '@livekit/agents-plugin-deepgram';
import * as openai from '@livekit/agents-plugin-openai';
import { OpenAI } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compatVoiceTrace, runCall, type CallResult } from '../src/call.js';
import { SpeakingCaller } from '../src/caller.js';
import { startDeepgramStt, type TranscriptScript } from '../src/servers/deepgram.js';
import { startDeepgramTts, type DeepgramTtsServer } from '../src/servers/deepgram-tts.js';
import { servedTtfbMs, type StreamingTtsScript, type StreamingTtsScripts, type TtsRequestRecord } from '../src/servers/elevenlabs.js';
import { redirectFetch, startOpenAi, type ChatScript } from '../src/servers/openai.js';
import { ATTR } from '@voicetrace/conventions';
import { commonFailures, numberAttribute as num, reportErrors, spansNamed, stageModels, streamingTtsFailures, turnSpans } from '../src/checks.js';
import { committedEntry, installedVersion, recordFigures, type FigureRow } from '../src/results.js';
import { sileroVad, speechOrSkip } from '../src/support.js';

// first: the SDK's logger and voicetrace's tracer provider (one per process)
compatVoiceTrace();
const speech = await speechOrSkip();

/** 30 ms: the tolerance for a timing figure on a loaded 2-core machine. */
const TIMING_MS = 30;
/** The plugin's default sample rate (plugin src/tts.ts:41) and the SDK's 100 ms frames (src/audio.ts:44-46). */
const SAMPLE_RATE = 24_000;
const FRAME_SAMPLES = SAMPLE_RATE / 10;
/** The plugin's recv idle timeout (`connOptions.timeoutMs`, plugin src/tts.ts:388-393) and the SDK's read idle timeout: both 10 s by default. */
const IDLE_TIMEOUT_MS = 10_000;

export const LINES = [
  { text: 'Hi, what is the weather like in Paris today?' },
  { text: 'Great, and what are your opening hours?' },
  { text: 'Thanks, that is all for today.' },
];
export const TRANSCRIPTS: TranscriptScript[] = LINES.map((l, i) => ({ text: l.text, finalDelayMs: [400, 500, 450][i]! }));
/** Multi-sentence replies: each sentence reaches Deepgram as its own `Speak`. */
export const REPLIES = [
  'It is eighteen degrees and sunny in Paris. The wind is light from the west. Anything else I can check for you?',
  'We open at nine and close at eight. On Sundays we open at ten. Holidays can differ, so please call ahead.',
  'You are very welcome, have a lovely day. Goodbye for now!',
];
export const CHAT: ChatScript[] = [
  { when: 'weather', text: REPLIES[0], ttftMs: 300, usage: { promptTokens: 100, completionTokens: 25 } },
  { when: 'opening hours', text: REPLIES[1], ttftMs: 350, usage: { promptTokens: 140, completionTokens: 26 } },
  { when: 'that is all', text: REPLIES[2], ttftMs: 250, usage: { promptTokens: 170, completionTokens: 12 } },
];
/** Each reply's first sentence as the plugin sends it (a trailing space added, plugin src/tts.ts:345-347). */
const FIRST_SENTENCES = ['It is eighteen degrees and sunny in Paris. ', 'We open at nine and close at eight. ', 'You are very welcome, have a lovely day. '];

/** The 3-turn call's scripts: a distinct TTFB per reply. */
export const REPLY_SCRIPTS = new Map<string, StreamingTtsScript>(FIRST_SENTENCES.map((s, i) => [s, { ttfbMs: [150, 300, 450][i]! }]));
/**
 * The fault call's: the first reply's socket dropped after its first sentence's audio, the second
 * reply's audio stalled for longer than the 10 s idle timeouts; the third is plain. A 400 ms TTFB
 * lets every sentence reach the stand-in before the fault.
 */
export const FAULT_SCRIPTS = new Map<string, StreamingTtsScript>([
  [FIRST_SENTENCES[0]!, { ttfbMs: 400, fault: { kind: 'drop_socket', afterTexts: 1 } }],
  [FIRST_SENTENCES[1]!, { ttfbMs: 400, fault: { kind: 'stall', afterTexts: 1, ms: 12_000 } }],
]);
const DEFAULT_SCRIPT: StreamingTtsScript = { ttfbMs: 200 };
const byFirstSentence = (scripts: Map<string, StreamingTtsScript>): StreamingTtsScripts => (text) => scripts.get(text) ?? DEFAULT_SCRIPT;

interface TtsCall {
  result: CallResult;
  tts: DeepgramTtsServer;
  close: () => Promise<void>;
}

/** A 3-turn call: Silero VAD, the Deepgram STT stand-in, the OpenAI chat stand-in, Deepgram's TTS stand-in. */
async function callWith(replies: StreamingTtsScripts): Promise<TtsCall> {
  const caller = new SpeakingCaller();
  const oa = await startOpenAi({ chat: CHAT });
  const dg = await startDeepgramStt({ caller, transcripts: TRANSCRIPTS });
  const tts = await startDeepgramTts({ replies });
  const close = async (): Promise<void> => {
    await Promise.all([oa.close(), dg.close(), tts.close()]);
  };
  try {
    const client = new OpenAI({ apiKey: 'sk-test', baseURL: 'https://api.openai.com/v1', fetch: redirectFetch(oa.httpUrl), maxRetries: 0 });
    const result = await runCall({
      caller,
      stt: new deepgram.STT({ apiKey: 'dg-test', baseUrl: dg.wsUrl }),
      vad: await sileroVad(),
      llm: new openai.LLM({ model: 'gpt-4o-mini', client }),
      tts: new deepgram.TTS({ apiKey: 'dg-test', baseUrl: tts.httpUrl }),
      lines: LINES,
      turnHandling: { turnDetection: 'vad', endpointing: { minDelay: 300, maxDelay: 3000 } },
    });
    return { result, tts, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The SDK's tts_metrics with when they arrived (epoch ms). */
function ttsMetrics(result: CallResult): Array<{ at: number; metrics: Record<string, any> }> {
  return result.sdk.metrics.filter((m) => m.metrics.type === 'tts_metrics');
}

const texts = (result: CallResult, role: string): string[] => result.sdk.messages.filter((m) => m.role === role).map((m) => m.text);

/** The client's messages on one socket, in order, as the stand-in logged them. */
function wireOf(tts: DeepgramTtsServer, record: TtsRequestRecord): string[] {
  const wire = new Set(['text', 'flush', 'clear', 'close']);
  return tts.events.filter((e) => e.request === record.index && wire.has(e.type)).map((e) => e.type);
}

/** Audio the SDK counts when a reply ends without `Flushed`: whole 100 ms frames, the newest held back (plugin src/tts.ts:369-379, 436-439). */
const heldBackMs = (seconds: number): number => (Math.floor(Math.round(seconds * SAMPLE_RATE) / FRAME_SAMPLES) - 1) * 100;

describe.skipIf(!speech)('Deepgram streaming TTS (/v1/speak, aura-2-andromeda-en), 3 turns: the SDK\'s tts_metrics against what the stand-in served', () => {
  let call: TtsCall;
  beforeAll(async () => {
    call = await callWith(byFirstSentence(REPLY_SCRIPTS));
  }, 180_000);
  afterAll(() => call?.close());

  it('the real plugin talked to the stand-in, one socket per reply, and the call completed', () => {
    const { result, tts } = call;
    expect(result.sdk.errors).toEqual([]);
    expect(texts(result, 'user')).toEqual(LINES.map((l) => l.text));
    expect(texts(result, 'assistant')).toEqual(REPLIES);
    const connects = tts.find('connect');
    expect(connects).toHaveLength(REPLIES.length);
    for (const connect of connects) {
      expect(connect.auth).toBe('Token dg-test');
      expect(connect.query).toEqual({ sample_rate: '24000', model: 'aura-2-andromeda-en', encoding: 'linear16', mip_opt_out: 'false' });
    }
    expect(tts.requests.map((r) => r.script?.ttfbMs)).toEqual([150, 300, 450]);
    expect(tts.find('disconnect').map((d) => d.code)).toEqual([1000, 1000, 1000]);
  });

  it('each reply: one Speak per sentence (each ending in a space), Flush at the end of input, then Flush and Close', () => {
    const { tts } = call;
    for (const [i, record] of tts.requests.entries()) {
      const sentences = record.texts.map((t) => t.text);
      expect(sentences.every((t) => t.endsWith(' ') && t.trim().length > 0), `reply ${i}`).toBe(true);
      expect(sentences.join('').trimEnd()).toBe(REPLIES[i]);
      expect(wireOf(tts, record)).toEqual([...sentences.map(() => 'text'), 'flush', 'flush', 'close']);
      expect(record.finalAt).toBeDefined();
    }
  });

  it('one tts_metrics per reply, on the reply\'s Flushed, named Deepgram / aura-2-andromeda-en', () => {
    const { result, tts } = call;
    const metrics = ttsMetrics(result);
    expect(metrics).toHaveLength(tts.requests.length);
    // the plugin's own request id per reply (plugin src/tts.ts:294), not Deepgram's
    expect(new Set(metrics.map((m) => m.metrics.requestId)).size).toBe(metrics.length);
    for (const [i, { at, metrics: m }] of metrics.entries()) {
      const lag = at - tts.requests[i]!.finalAt!;
      expect(lag, `reply ${i}`).toBeGreaterThanOrEqual(0);
      expect(lag, `reply ${i}`).toBeLessThan(100);
      expect(m.metadata).toEqual({ modelProvider: 'Deepgram', modelName: 'aura-2-andromeda-en' });
      expect(m.label).toBe('deepgram.TTS');
      expect(m.cancelled).toBe(false);
      expect(m.streamed).toBe(true);
    }
  });

  it('ttfb is the first Speak to first audio: what the stand-in served within 30 ms, and the served delay is the injected one', () => {
    const { result, tts } = call;
    for (const [i, { metrics: m }] of ttsMetrics(result).entries()) {
      const record = tts.requests[i]!;
      const served = servedTtfbMs(record)!;
      expect(Math.abs(m.ttfbMs - served), `reply ${i}: sdk ${m.ttfbMs} ms, served ${served} ms`).toBeLessThan(TIMING_MS + result.loopStallMs);
      // a timer fires late, never early (a 1 ms clock rounding aside)
      expect(served, `reply ${i}`).toBeGreaterThanOrEqual(record.script!.ttfbMs - 1);
    }
  });

  it('characters are the reply as the LLM wrote it: one fewer than the stand-in received (n sentences sent with n trailing spaces, written with n-1 separators)', () => {
    const { result, tts } = call;
    for (const [i, { metrics: m }] of ttsMetrics(result).entries()) {
      expect(m.charactersCount, `reply ${i}`).toBe(REPLIES[i]!.length);
      expect(tts.requests[i]!.characters, `reply ${i}`).toBe(m.charactersCount + 1);
    }
  });

  it('audio duration is every sample the stand-in sent, to the ms', () => {
    const { result, tts } = call;
    for (const [i, { metrics: m }] of ttsMetrics(result).entries()) {
      expect(m.audioDurationMs, `reply ${i}`).toBe(Math.round(tts.requests[i]!.audioSeconds * 1000));
    }
  });
  it('voicetrace: the SDK\'s TTFB per turn (the injected delay as served), characters and audio counted once, one provider/model', () => {
    const { result } = call;
    expect(commonFailures(result, { userTurns: LINES.length, vad: true, stt: true })).toEqual([]);
    expect(streamingTtsFailures(result, LINES.length)).toEqual([]);
    expect(result.summary.usageCheck).toEqual([]);
    expect(stageModels(result).tts).toEqual(['deepgram/aura-2-andromeda-en']);
    const rows: FigureRow[] = [];
    for (let turn = 1; turn <= LINES.length; turn++) {
      const i = turn - 1;
      const ttfb = num(turnSpans(result, turn).played, ATTR.LATENCY_TTS_TTFB)!;
      expect(Math.abs(ttfb - servedTtfbMs(call.tts.requests[i]!)! / 1000), `turn ${turn}`).toBeLessThan((TIMING_MS + call.result.loopStallMs) / 1000);
      rows.push({ figure: 'tts.ttfb', turn, injected: servedTtfbMs(call.tts.requests[i]!)! / 1000, voicetrace: ttfb });
    }
    const entry = {
      plugin: '@livekit/agents-plugin-deepgram', version: installedVersion('@livekit/agents-plugin-deepgram'), role: 'TTS (streaming WebSocket)', scenario: 'deepgram-tts', stages: ['tts'],
      sources: { 'tts.ttfb': 'provider' as const, 'tts.characters': 'provider' as const, 'tts.audio_duration': 'provider' as const, 'tts.cost': 'voicetrace' as const },
      quirks: call.tts.requests.every((r, i) => r.characters === ttsMetrics(result)[i]!.metrics.charactersCount + 1) ? ['tts_characters_one_space_short'] : [],
    };
    expect(entry).toEqual(committedEntry(entry as never));
    recordFigures('deepgram-tts', rows, result);
  });
});

describe.skipIf(!speech)('Deepgram streaming TTS faults: a dropped socket mid-reply, then a reply stalled past the 10 s idle timeouts', () => {
  let call: TtsCall;
  beforeAll(async () => {
    call = await callWith(byFirstSentence(FAULT_SCRIPTS));
  }, 180_000);
  afterAll(() => call?.close());

  const dropped = (): TtsRequestRecord => call.tts.requests.find((r) => r.faults.includes('drop_socket'))!;
  const stalled = (): TtsRequestRecord => call.tts.requests.find((r) => r.faults.includes('stall'))!;
  /** Sockets that carried no text: the SDK's retries. */
  const between = (from: TtsRequestRecord, to: TtsRequestRecord): TtsRequestRecord[] => call.tts.requests.filter((r) => r.index > from.index && r.index < to.index);
  const replies = (): TtsRequestRecord[] => call.tts.requests.filter((r) => r.texts.length > 0);
  const metricsAt = (i: number) => ttsMetrics(call.result)[i]!;

  it('the call went on through both faults: every turn was answered', () => {
    const { result, tts } = call;
    expect(texts(result, 'user')).toEqual(LINES.map((l) => l.text));
    expect(tts.find('fault').map((f) => f.fault)).toEqual(['dropped_socket', 'stall']);
    expect(replies().map((r) => r.texts[0]!.text)).toEqual(FIRST_SENTENCES);
    // one tts_metrics per reply still
    expect(ttsMetrics(result)).toHaveLength(REPLIES.length);
    // without aligned transcripts, the history keeps every reply whole, the cut ones too
    expect(texts(result, 'assistant')).toEqual(REPLIES);
  });

  it('dropped socket: the SDK retries 3 times on new sockets (100 ms, then 2 s apart) with no text to resend, then reports a non-recoverable tts_error', () => {
    const { result, tts } = call;
    const drop = tts.find('fault').find((f) => f.fault === 'dropped_socket')!;
    expect(tts.find('disconnect').find((d) => d.request === dropped().index)!.code).toBe(1006);
    const attempts = between(dropped(), stalled());
    expect(attempts).toHaveLength(3);
    for (const attempt of attempts) {
      // the input was consumed by the first attempt: no Speak, only the Flush and Close of the plugin's cleanup
      expect(attempt.texts).toEqual([]);
      expect(new Set(wireOf(tts, attempt))).toEqual(new Set(['flush', 'close']));
    }
    const starts = attempts.map((a) => tts.find('connect').find((e) => e.request === a.index)!.at);
    expect(starts[0]! - drop.at).toBeGreaterThanOrEqual(100);
    expect(starts[0]! - drop.at).toBeLessThan(400);
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(1900);
    expect(starts[2]! - starts[1]!).toBeGreaterThanOrEqual(1900);
    // each retry fails on the tokenizer the first attempt closed
    expect(result.sdk.errors).toHaveLength(1);
    expect(result.sdk.errors[0]).toMatchObject({ type: 'tts_error', label: 'deepgram.TTS', recoverable: false, message: 'Deepgram TTS WebSocket failed: Stream is closed' });
    expect(Math.abs(result.sdk.errors[0]!.at - starts[2]!)).toBeLessThan(300);
  });

  it('dropped socket: tts_metrics comes when the retries give up, not cancelled, short of the audio served (the held-back frame and the unflushed rest), with the whole reply\'s characters', () => {
    const { result } = call;
    const drop = call.tts.find('fault').find((f) => f.fault === 'dropped_socket')!;
    const { at, metrics: m } = metricsAt(0);
    expect(Math.abs(at - result.sdk.errors[0]!.at)).toBeLessThan(100);
    expect(m.cancelled).toBe(false);
    expect(m.audioDurationMs).toBe(heldBackMs(drop.secondsSent as number));
    expect(dropped().audioSeconds).toBe(drop.secondsSent);
    expect(m.charactersCount).toBe(REPLIES[0]!.length);
    expect(Math.abs(m.ttfbMs - servedTtfbMs(dropped())!)).toBeLessThan(TIMING_MS + result.loopStallMs);
  });

  it('stalled audio: closed 10 s after the last audio (the plugin\'s and the SDK\'s timeouts race): tts_metrics cancelled, no error, the audio before the stall less the held-back frame', () => {
    const { result, tts } = call;
    const record = stalled();
    const stall = tts.find('fault').find((f) => f.fault === 'stall')!;
    // the plugin's recv idle timeout (10 s after the last message) closes the socket: Flush, Close
    const closed = tts.find('close').find((e) => e.request === record.index)!;
    expect(closed.at - stall.at).toBeGreaterThanOrEqual(IDLE_TIMEOUT_MS - 100);
    expect(closed.at - stall.at).toBeLessThan(IDLE_TIMEOUT_MS + 600);
    const { at, metrics: m } = metricsAt(1);
    expect(at - stall.at).toBeGreaterThanOrEqual(IDLE_TIMEOUT_MS - 100);
    expect(at - stall.at).toBeLessThan(IDLE_TIMEOUT_MS + 600);
    expect(m.cancelled).toBe(true);
    expect(m.audioDurationMs).toBe(heldBackMs(stall.secondsSent as number));
    expect(m.charactersCount).toBe(REPLIES[1]!.length);
    // no error beyond the drop's; the plugin's retry (if it won the race) sends no text before the SDK aborts it
    expect(result.sdk.errors).toHaveLength(1);
    const nextReply = replies()[2]!;
    for (const retry of between(record, nextReply)) expect(retry.texts).toEqual([]);
    expect(between(record, nextReply).length).toBeLessThanOrEqual(1);
  });
  it('voicetrace: the failed reply is one TTS error on its turn, counted once; the stalled reply\'s request is cancelled; usage counted once', () => {
    const { result } = call;
    expect(result.summary.errors).toBe(1);
    expect(reportErrors(result)).toMatchObject([{ turn: 1, source: 'deepgram.TTS', recoverable: false }]);
    expect(streamingTtsFailures(result, 0)).toEqual([]);
    const cancelled = spansNamed(result, 'tts_request').filter((s) => s.attributes[ATTR.CANCELLED] === true);
    expect(cancelled.map((s) => s.attributes[ATTR.TURN_INDEX])).toEqual([2]);
    const entry = {
      plugin: '@livekit/agents-plugin-deepgram', version: installedVersion('@livekit/agents-plugin-deepgram'), role: 'TTS (streaming WebSocket)', scenario: 'deepgram-tts-faults', stages: ['tts'],
      sources: {}, quirks: ['tts_retry_without_input' as const],
    };
    expect(entry).toEqual(committedEntry(entry));
  });
});
