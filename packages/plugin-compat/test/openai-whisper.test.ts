import * as openai from '@livekit/agents-plugin-openai';
import { OpenAI } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compatVoiceTrace, runCall, type CallLine, type CallResult } from '../src/call.js';
import { SpeakingCaller } from '../src/caller.js';
import { ATTR } from '@voicetrace/conventions';
import { commonFailures, numberAttribute as num, sdkMetrics, sdkPlayoutStart, sdkSpeechAnchors, stageModels, turnSpans, usageOf } from '../src/checks.js';
import { committedEntry, installedVersion, recordFigures, type FigureRow } from '../src/results.js';
import type { StandInServer } from '../src/servers/base.js';
import { redirectFetch, startOpenAi, type ChatScript, type TranscriptionScript } from '../src/servers/openai.js';
import { sileroVad, speechOrSkip } from '../src/support.js';

// first: the SDK's logger and voicetrace's tracer provider (one per process)
compatVoiceTrace();
const speech = await speechOrSkip();

/** 30 ms: the tolerance for a timing figure on a loaded 2-core machine. */
const TIMING_MS = 30;
/**
 * What a request adds to the injected delay: the plugin times `_recognize` whole (@livekit/agents
 * src/stt/stt.ts:213-231), WAV and multipart encoding and the upload of ~3 s of audio included (14-29 ms
 * on a quiet machine; the first request the most, a new connection: 167 ms once under the full suite's
 * load), which the stand-in cannot see (it is handed the body once read, base.ts `handle`). The bound
 * is what the check tells apart, not a timing: a duration measured from the end of speech would add
 * the Silero VAD's silence threshold (`minSilenceDuration: 550` ms, @livekit/agents-plugin-silero
 * dist/vad.js:14), so the upload is allowed up to half of it.
 */
const UPLOAD_ALLOWANCE_MS = 275;

export const LINES: CallLine[] = [
  { text: 'Hi, what is the weather like in Paris today?' },
  { text: 'Great, and what are your opening hours?' },
  { text: 'Thanks, that is all for today.' },
];
/** whisper-1 answers each VAD segment this long after the request arrived: its transcription time. */
export const TRANSCRIPTIONS: TranscriptionScript[] = LINES.map((l, i) => ({ text: l.text, delayMs: [300, 700, 500][i]! }));
export const CHAT: ChatScript[] = [
  { when: 'weather', text: 'It is eighteen degrees and sunny in Paris.', ttftMs: 300, usage: { promptTokens: 90, completionTokens: 10 } },
  { when: 'opening hours', text: 'We open at nine and close at eight.', ttftMs: 350, usage: { promptTokens: 120, completionTokens: 9, cachedTokens: 64 } },
  { when: 'that is all', text: 'You are welcome, goodbye!', ttftMs: 250, usage: { promptTokens: 150, completionTokens: 6, cachedTokens: 64 } },
];

/** The fault call: the first utterance's transcription fails with a 500, the second is answered. */
export const FAULT_LINES: CallLine[] = [{ text: LINES[1]!.text, noReply: true }, LINES[2]!];
export const FAULT_DELAY_MS = 200;

/**
 * A transcription the stand-in fails: reading its `text` throws, which the stand-in's server answers
 * as HTTP 500 with an OpenAI-shaped error body (base.ts `handle`), after the delay like any answer.
 * (openai.ts's transcription script has no `fail` option; see the report.)
 */
function failingTranscription(delayMs: number, onFail: () => void): TranscriptionScript {
  return {
    delayMs,
    get text(): string {
      onFail();
      throw new Error('scripted fault: the transcription failed');
    },
  };
}

/** An `openai` client on OpenAI's URL, sent to the stand-in; maxRetries 0, as the plugin's own STT client (stt.ts:396-402). */
const openAiClient = (server: StandInServer): OpenAI =>
  new OpenAI({ apiKey: 'sk-test', baseURL: 'https://api.openai.com/v1', fetch: redirectFetch(server.httpUrl), maxRetries: 0 });

async function whisperCall(server: StandInServer, lines: CallLine[]): Promise<CallResult> {
  const client = openAiClient(server);
  return runCall({
    caller: new SpeakingCaller(),
    // useRealtime: false, else the plugin streams whisper-1 over the Realtime API (stt.ts:289-295, 338-346);
    // an apiKey although the client has one: the constructor requires it (stt.ts:348-351)
    stt: new openai.STT({ model: 'whisper-1', useRealtime: false, client, apiKey: 'sk-test' }),
    vad: await sileroVad(),
    llm: new openai.LLM({ model: 'gpt-4o-mini', client }),
    tts: new openai.TTS({ model: 'tts-1', client }),
    lines,
    // the VAD ends the turn: the transcription's time is then the wait the caller hears
    turnHandling: { turnDetection: 'vad', endpointing: { minDelay: 300, maxDelay: 3000 } },
  });
}

describe.skipIf(!speech)('OpenAI whisper-1 (non-streaming, behind the SDK\'s VAD stream adapter), OpenAI LLM + tts-1, Silero VAD', () => {
  let result: CallResult;
  let oa: StandInServer;
  beforeAll(async () => {
    oa = await startOpenAi({ chat: CHAT, speech: { ttfbMs: 200 }, transcriptions: TRANSCRIPTIONS });
    result = await whisperCall(oa, LINES);
  }, 180_000);
  afterAll(async () => {
    await oa?.close();
  });

  it('the real plugins talked to the stand-in and the call completed', () => {
    expect(oa.find('request', 'transcriptions')).toHaveLength(LINES.length);
    expect(oa.find('final_transcript', 'transcriptions').map((e) => e.text)).toEqual(TRANSCRIPTIONS.map((t) => t.text));
    expect(oa.find('request', 'chat')).toHaveLength(CHAT.length);
    expect(result.sdk.messages.filter((m) => m.role === 'user').map((m) => m.text)).toEqual(LINES.map((l) => l.text));
    expect(result.sdk.errors).toEqual([]);
  });

  it('one stt_metrics per request, as it completes, named api.openai.com/whisper-1, not streamed', () => {
    const metrics = result.sdk.metrics.filter((m) => m.metrics.type === 'stt_metrics');
    const finals = oa.find('final_transcript', 'transcriptions');
    expect(metrics).toHaveLength(LINES.length);
    for (const [i, m] of metrics.entries()) {
      expect(m.metrics, `request ${i}`).toMatchObject({ label: 'openai.STT', streamed: false, requestId: '', metadata: { modelProvider: 'api.openai.com', modelName: 'whisper-1' } });
      expect(m.at - finals[i]!.at, `request ${i}`).toBeLessThan(TIMING_MS + result.loopStallMs);
    }
  });

  it('stt_metrics audio is the WAV the stand-in received (the VAD segment: speech plus padding), to the millisecond', () => {
    const requests = oa.find('request', 'transcriptions');
    const metrics = sdkMetrics(result, 'stt_metrics');
    for (const [i, request] of requests.entries()) {
      expect(Math.abs(metrics[i]!.audioDurationMs / 1000 - (request.audioSeconds as number)), `request ${i}`).toBeLessThanOrEqual(0.0005);
      const spoken = result.spoken[i]!;
      expect(request.audioSeconds as number, `request ${i}`).toBeGreaterThan((spoken.voiceEndAt - spoken.voiceStartAt) / 1000);
    }
  });

  it('stt_metrics duration is the request\'s round trip: the injected transcription delay plus the upload (within 30 ms)', () => {
    const metrics = sdkMetrics(result, 'stt_metrics');
    for (const [i, script] of TRANSCRIPTIONS.entries()) {
      expect(metrics[i]!.durationMs, `request ${i}`).toBeGreaterThanOrEqual(script.delayMs - 1);
      expect(metrics[i]!.durationMs - script.delayMs, `request ${i}`).toBeLessThanOrEqual(UPLOAD_ALLOWANCE_MS + TIMING_MS + result.loopStallMs);
    }
    if (process.env.COMPAT_DUMP) console.log(JSON.stringify({ stt: sdkMetrics(result, 'stt_metrics'), events: oa.events, spoken: result.spoken, usage: result.sdk.usage }));
  });

  it('voicetrace: one VAD and one STT span per turn, the SDK\'s anchors, slices that add up, turn costs that add up', () => {
    expect(commonFailures(result, { userTurns: LINES.length, vad: true, stt: true })).toEqual([]);
    expect(stageModels(result)).toEqual({ stt: ['openai/whisper-1'], llm: ['openai/gpt-4o-mini'], tts: ['openai/tts-1'] });
  });

  it('voicetrace: STT latency is end of speech (the VAD\'s anchor) to the final transcript, on the STT span, the turn and in the wait', () => {
    const finals = oa.find('final_transcript', 'transcriptions');
    for (let turn = 1; turn <= LINES.length; turn++) {
      const { stt, played, userTurn } = turnSpans(result, turn);
      const expected = finals[turn - 1]!.at / 1000 - sdkSpeechAnchors(result, turn)!.end;
      // the VAD's silence threshold, then the request: far more than the provider's own time
      expect(expected).toBeGreaterThan(TRANSCRIPTIONS[turn - 1]!.delayMs / 1000);
      expect(Math.abs(num(stt[0], ATTR.STT_LATENCY)! - expected), `turn ${turn}`).toBeLessThan(TIMING_MS / 1000);
      expect(num(userTurn, ATTR.LATENCY_TRANSCRIPTION_DELAY)).toBeCloseTo(num(stt[0], ATTR.STT_LATENCY)!, 6);
      expect(num(played, ATTR.WAIT_STT)).toBeCloseTo(num(stt[0], ATTR.STT_LATENCY)!, 6);
    }
  });

  it('voicetrace: e2e is the VAD\'s end of speech to the SDK\'s playout start (restated where the SDK measured from the STT\'s end of speech)', () => {
    for (let turn = 1; turn <= LINES.length; turn++) {
      const { played } = turnSpans(result, turn);
      const expected = sdkPlayoutStart(result, turn)! - sdkSpeechAnchors(result, turn)!.end;
      expect(Math.abs(num(played, ATTR.LATENCY_E2E)! - expected), `turn ${turn}`).toBeLessThan(TIMING_MS / 1000);
    }
  });

  it('voicetrace: each request\'s audio is its turn\'s STT usage, and the turns add up to the session', () => {
    const metrics = sdkMetrics(result, 'stt_metrics');
    for (let turn = 1; turn <= LINES.length; turn++) {
      expect(num(turnSpans(result, turn).stt[0], ATTR.STT_AUDIO_DURATION), `turn ${turn}`).toBeCloseTo(metrics[turn - 1]!.audioDurationMs / 1000, 6);
    }
    expect(usageOf(result, 'stt_usage')!.audioDuration).toBeCloseTo(metrics.reduce((n, m) => n + m.audioDurationMs / 1000, 0), 9);
  });

  it('voicetrace: the compatibility facts are the ones compat.json states', () => {
    const entry = {
      plugin: '@livekit/agents-plugin-openai', version: installedVersion('@livekit/agents-plugin-openai'), role: 'STT (whisper-1, non-streaming)', scenario: 'openai-whisper', stages: ['stt'],
      sources: { 'stt.latency': 'voicetrace' as const, 'stt.audio_duration': 'provider' as const, 'stt.cost': 'voicetrace' as const },
      quirks: [],
    };
    expect(entry).toEqual(committedEntry(entry));
    const finals = oa.find('final_transcript', 'transcriptions');
    const rows: FigureRow[] = [];
    for (let turn = 1; turn <= LINES.length; turn++) {
      const { stt, played } = turnSpans(result, turn);
      const anchors = sdkSpeechAnchors(result, turn)!;
      rows.push({ figure: 'stt.latency', turn, injected: finals[turn - 1]!.at / 1000 - anchors.end, voicetrace: num(stt[0], ATTR.STT_LATENCY)! });
      rows.push({ figure: 'e2e', turn, injected: sdkPlayoutStart(result, turn)! - anchors.end, voicetrace: num(played, ATTR.LATENCY_E2E)! });
    }
    recordFigures('openai-whisper', rows, result);
  });
});

describe.skipIf(!speech)('OpenAI whisper-1: a transcription fails with a 500 once', () => {
  let result: CallResult;
  let oa: StandInServer;
  beforeAll(async () => {
    const fault = failingTranscription(FAULT_DELAY_MS, () => oa.log('transcriptions', 'fault', { status: 500 }));
    oa = await startOpenAi({ chat: CHAT, speech: { ttfbMs: 200 }, transcriptions: [fault, TRANSCRIPTIONS[2]!] });
    result = await whisperCall(oa, FAULT_LINES);
  }, 180_000);
  afterAll(async () => {
    await oa?.close();
  });

  it('nothing retries the failed request: the utterance is lost, silently, and the next one is answered', () => {
    expect(oa.find('fault', 'transcriptions')).toHaveLength(1);
    // one request per VAD segment: neither the plugin, nor the stream adapter, nor the client (maxRetries 0) retried
    expect(oa.find('request', 'transcriptions')).toHaveLength(2);
    expect(result.sdk.messages.filter((m) => m.role === 'user').map((m) => m.text)).toEqual([LINES[2]!.text]);
    expect(oa.find('request', 'chat')).toHaveLength(1);
    // the adapter logs the failure and goes on: no error event reaches the session
    expect(result.sdk.errors).toEqual([]);
  });

  it('the failed request reports no stt_metrics (recognize emits them only on success)', () => {
    const metrics = sdkMetrics(result, 'stt_metrics');
    expect(metrics).toHaveLength(1);
    const entry = {
      plugin: '@livekit/agents-plugin-openai', version: installedVersion('@livekit/agents-plugin-openai'), role: 'STT (whisper-1, non-streaming)', scenario: 'openai-whisper-fault', stages: ['stt'],
      sources: {}, quirks: ['stt_failed_request_dropped' as const],
    };
    expect(entry).toEqual(committedEntry(entry));
    expect(Math.abs(metrics[0]!.audioDurationMs / 1000 - (oa.find('request', 'transcriptions')[1]!.audioSeconds as number))).toBeLessThanOrEqual(0.0005);
    if (process.env.COMPAT_DUMP) console.log(JSON.stringify({ stt: metrics, events: oa.events, errors: result.sdk.errors }));
  });
});
