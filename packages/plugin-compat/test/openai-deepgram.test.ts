import { llm } from '@livekit/agents';
import * as deepgram from '@livekit/agents-plugin-deepgram';
import * as openai from '@livekit/agents-plugin-openai';
import { ATTR } from '@voicetrace/conventions';
import { OpenAI } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { compatVoiceTrace, runCall, type CallResult } from '../src/call.js';
import { SpeakingCaller } from '../src/caller.js';
import { costs, numberAttribute as num, reportTurns, sdkMetrics, sdkPlayoutStart, sdkSpeechAnchors, spansNamed, stageModels, turnSpans, usageOf, waitSums } from '../src/checks.js';
import { committedEntry, installedVersion, recordFigures, type CompatEntry, type FigureRow } from '../src/results.js';
import type { QuirkId } from '../src/quirks.js';
import type { StandInServer } from '../src/servers/base.js';
import { startDeepgramStt, type TranscriptScript } from '../src/servers/deepgram.js';
import { redirectFetch, startOpenAi, type ChatScript } from '../src/servers/openai.js';
import { sileroVad, spanTimes, speechOrSkip } from '../src/support.js';

// first: the SDK's logger and voicetrace's tracer provider (one per process)
compatVoiceTrace();
const speech = await speechOrSkip();

/** 30 ms: the tolerance for a timing figure on a loaded 2-core machine. */
const TIMING = 0.03;

const LINES = [
  { text: 'Hi, what is the weather like in Paris today?' },
  { text: 'Great, and what are your opening hours?' },
  { text: 'Thanks, that is all for today.' },
];
/** Deepgram's final transcript this long after each utterance's voice ended: its STT latency. */
const TRANSCRIPTS: TranscriptScript[] = LINES.map((l, i) => ({ text: l.text, finalDelayMs: [400, 700, 550][i]! }));
const CHAT: ChatScript[] = [
  { when: 'weather', toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }], ttftMs: 400, usage: { promptTokens: 120, completionTokens: 12, cachedTokens: 64 } },
  { when: 'tool:get_weather', text: 'It is eighteen degrees and sunny in Paris. Anything else?', ttftMs: 300, usage: { promptTokens: 160, completionTokens: 14, cachedTokens: 128 } },
  { when: 'opening hours', text: 'We open at nine and close at eight. On Sundays we open at ten. Holidays can differ.', ttftMs: 650, usage: { promptTokens: 200, completionTokens: 20, cachedTokens: 128 } },
  { when: 'that is all', text: 'You are welcome, goodbye!', ttftMs: 250, usage: { promptTokens: 230, completionTokens: 6 } },
];
/** Each reply's first sentence gets its own time to first byte; the other sentences 200 ms. */
const FIRST_SENTENCE_TTFB = new Map([
  ['It is eighteen degrees and sunny in Paris.', 150],
  ['We open at nine and close at eight.', 350],
  ['You are welcome, goodbye!', 250],
]);
const ttfbOf = (input: string): number => FIRST_SENTENCE_TTFB.get(input.trim()) ?? 200;

describe.skipIf(!speech)('OpenAI LLM (tools, cached tokens) + OpenAI tts-1 (stream adapter), Deepgram streaming STT (periodic usage), Silero VAD', () => {
  let result: CallResult;
  let oa: StandInServer;
  let dg: Awaited<ReturnType<typeof startDeepgramStt>>;
  beforeAll(async () => {
    const caller = new SpeakingCaller();
    oa = await startOpenAi({ chat: CHAT, speech: { ttfbMs: ttfbOf } });
    dg = await startDeepgramStt({ caller, transcripts: TRANSCRIPTS });
    const client = new OpenAI({ apiKey: 'sk-test', baseURL: 'https://api.openai.com/v1', fetch: redirectFetch(oa.httpUrl), maxRetries: 0 });
    result = await runCall({
      caller,
      stt: new deepgram.STT({ apiKey: 'dg-test', baseUrl: dg.wsUrl }),
      vad: await sileroVad(),
      llm: new openai.LLM({ model: 'gpt-4o-mini', client }),
      tts: new openai.TTS({ model: 'tts-1', client }),
      lines: LINES,
      // the VAD decides the end of the turn: its anchor is where every latency starts
      turnHandling: { turnDetection: 'vad', endpointing: { minDelay: 300, maxDelay: 3000 } },
      tools: {
        get_weather: llm.tool({ description: 'Current weather for a city.', parameters: z.object({ city: z.string() }), execute: async ({ city }) => ({ city, temperatureC: 18 }) }),
      },
    });
  }, 180_000);
  /** The 30 ms, plus the longest event-loop stall of this call (the stand-ins share the agent's loop). */
  const tolerance = (): number => TIMING + result.loopStallMs / 1000;
  /** Seconds from each chat request's arrival to its first token, as the stand-in served them, in order. */
  const servedChat = (): number[] => {
    const firsts = oa.find('first_chunk', 'chat');
    return oa.find('request', 'chat').map((r, i) => (firsts[i]!.at - r.at) / 1000);
  };
  /** Seconds from the speech request for `input` to its first audio byte, as the stand-in served it. */
  const servedSpeech = (input: string): number => {
    const request = oa.find('request', 'speech').find((e) => (e.input as string).trim() === input)!;
    const first = oa.find('first_chunk', 'speech').find((e) => (e.input as string).trim() === input)!;
    return (first.at - request.at) / 1000;
  };
  afterAll(async () => {
    await oa?.close();
    await dg?.close();
  });

  it('the real plugins talked to the stand-ins and the call completed', () => {
    expect(dg.find('connect')).toHaveLength(1);
    expect(dg.find('final_transcript').map((e) => e.delivered)).toEqual([true, true, true]);
    expect(oa.find('request', 'chat')).toHaveLength(CHAT.length);
    expect(result.sdk.messages.filter((m) => m.role === 'user').map((m) => m.text)).toEqual(LINES.map((l) => l.text));
  });

  it('one VAD span and one STT span per user turn, whatever the plugins\' reporting rhythm', () => {
    // Silero's metrics come once per ~31 speech starts: none in this call
    expect(sdkMetrics(result, 'vad_metrics')).toHaveLength(0);
    // Deepgram reports usage every 5 s: fewer reports than turns
    expect(sdkMetrics(result, 'stt_metrics').length).toBeLessThan(LINES.length);
    for (let turn = 1; turn <= LINES.length; turn++) {
      const spans = turnSpans(result, turn);
      expect(spans.userTurn, `turn ${turn}`).toBeDefined();
      expect(spans.vad, `turn ${turn} VAD`).toHaveLength(1);
      expect(spans.stt, `turn ${turn} STT`).toHaveLength(1);
    }
  });

  it('speech start and end are the SDK\'s anchors, the same on the user turn, the VAD span and in the report', () => {
    for (let turn = 1; turn <= LINES.length; turn++) {
      const anchors = sdkSpeechAnchors(result, turn)!;
      const { userTurn, vad } = turnSpans(result, turn);
      const report = reportTurns(result).find((t) => t.index === turn)!.user;
      for (const span of [userTurn, vad[0]]) {
        expect(num(span, ATTR.VAD_SPEECH_START)).toBeCloseTo(anchors.start, 3);
        expect(num(span, ATTR.VAD_SPEECH_END)).toBeCloseTo(anchors.end, 3);
      }
      expect(report.speech_start).toBe(num(userTurn, ATTR.VAD_SPEECH_START));
      expect(report.speech_end).toBe(num(userTurn, ATTR.VAD_SPEECH_END));
      // and the VAD span covers exactly the speech
      expect(spanTimes(vad[0]!).start).toBeCloseTo(anchors.start, 3);
      expect(spanTimes(vad[0]!).end).toBeCloseTo(anchors.end, 3);
    }
  });

  it('STT latency is end of speech to the final transcript (the injected delay as the SDK anchors it), on the STT span and in the wait', () => {
    const finals = dg.find('final_transcript');
    for (let turn = 1; turn <= LINES.length; turn++) {
      const anchors = sdkSpeechAnchors(result, turn)!;
      const expected = Math.max(0, finals[turn - 1]!.at / 1000 - anchors.end);
      const { stt, played } = turnSpans(result, turn);
      expect(Math.abs(num(stt[0], ATTR.STT_LATENCY)! - expected), `turn ${turn}`).toBeLessThan(tolerance());
      expect(num(played, ATTR.LATENCY_TRANSCRIPTION_DELAY)).toBeCloseTo(num(stt[0], ATTR.STT_LATENCY)!, 6);
      expect(num(played, ATTR.WAIT_STT)).toBeCloseTo(num(stt[0], ATTR.STT_LATENCY)!, 6);
    }
  });

  it('LLM time to first token is the injected delay, per request; the spoken reply\'s is the turn\'s', () => {
    const requests = spansNamed(result, 'llm_request');
    expect(requests).toHaveLength(CHAT.length);
    // the delay the stand-in served (its timer fires late on a loaded machine), the injected one within a stall
    const served = servedChat();
    for (const [i, span] of requests.entries()) {
      expect(served[i]! - CHAT[i]!.ttftMs / 1000, `request ${i} served`).toBeGreaterThanOrEqual(-0.002);
      expect(Math.abs(num(span, ATTR.TIME_TO_FIRST_CHUNK)! - served[i]!), `request ${i}`).toBeLessThan(tolerance());
    }
    // the spoken reply's: requests 1 (after the tool), 2 and 3
    for (let turn = 1; turn <= LINES.length; turn++) expect(Math.abs(num(turnSpans(result, turn).played, ATTR.LATENCY_LLM_TTFT)! - served[turn]!), `turn ${turn}`).toBeLessThan(tolerance());
  });

  it('TTS time to first byte is the injected delay of the reply\'s first sentence', () => {
    const firstSentences = [...FIRST_SENTENCE_TTFB.keys()];
    for (let turn = 1; turn <= LINES.length; turn++) {
      const served = servedSpeech(firstSentences[turn - 1]!);
      expect(served - FIRST_SENTENCE_TTFB.get(firstSentences[turn - 1]!)! / 1000, `turn ${turn} served`).toBeGreaterThanOrEqual(-0.002);
      expect(Math.abs(num(turnSpans(result, turn).played, ATTR.LATENCY_TTS_TTFB)! - served), `turn ${turn}`).toBeLessThan(tolerance());
    }
  });

  it('e2e is end of speech to the SDK\'s playout start, and the wait slices add up to it exactly', () => {
    for (let turn = 1; turn <= LINES.length; turn++) {
      const e2e = num(turnSpans(result, turn).played, ATTR.LATENCY_E2E)!;
      expect(Math.abs(e2e - (sdkPlayoutStart(result, turn)! - sdkSpeechAnchors(result, turn)!.end)), `turn ${turn}`).toBeLessThan(tolerance());
    }
    for (const { e2e, slices } of waitSums(result)) expect(slices).toBeCloseTo(e2e, 9);
  });

  it('LLM tokens (cached included) counted exactly as injected', () => {
    const usage = usageOf(result, 'llm_usage')!;
    expect(usage.inputTokens).toBe(CHAT.reduce((n, c) => n + c.usage.promptTokens, 0));
    expect(usage.inputCachedTokens).toBe(CHAT.reduce((n, c) => n + (c.usage.cachedTokens ?? 0), 0));
    expect(usage.outputTokens).toBe(CHAT.reduce((n, c) => n + c.usage.completionTokens, 0));
    expect(usage.requests).toBe(CHAT.length);
  });

  it('TTS characters and audio counted once: the stand-in\'s sentences, not the stream adapter\'s report on top', () => {
    const requests = oa.find('request', 'speech');
    const usage = usageOf(result, 'tts_usage')!;
    expect(usage.charactersCount).toBe(requests.reduce((n, r) => n + (r.characters as number), 0));
    expect(usage.requests).toBe(requests.length);
    // the plugin drops each response's last partial 100 ms frame (its AudioByteStream is never flushed)
    const served = requests.reduce((n, r) => n + (r.seconds as number), 0);
    expect(usage.audioDuration).toBeLessThanOrEqual(served + 1e-9);
    expect(served - usage.audioDuration).toBeLessThan(0.1 * requests.length);
    // the SDK counts the adapter's report too; the cross-check names that, nothing else
    expect(result.summary.usageCheck.map((d) => `${d.figure}:${d.cause}`).sort()).toEqual(['audioDuration:sdk_counts_stream_adapter_report', 'charactersCount:sdk_counts_stream_adapter_report']);
  });

  it('periodic STT usage is split over the turns whose speech each report covered, and the turns add up to the session', () => {
    const reports = sdkMetrics(result, 'stt_metrics');
    const session = usageOf(result, 'stt_usage')!;
    expect(session.audioDuration).toBeCloseTo(reports.reduce((n, r) => n + r.audioDurationMs / 1000, 0), 9);
    // the plugin never reports its last partial window: the stand-in got more audio than was reported
    expect(dg.receivedAudioSeconds()).toBeGreaterThan(session.audioDuration);
    // each report's window (since the previous) split by seconds of speech, computed here on its own
    const anchors = LINES.map((_, i) => sdkSpeechAnchors(result, i + 1)!);
    const expected = anchors.map(() => 0);
    let from = result.summary.startedAt!;
    for (const report of reports) {
      const to = report.timestamp / 1000;
      const overlap = anchors.map((a) => Math.max(0, Math.min(to, a.end) - Math.max(from, a.start)));
      const total = overlap.reduce((a, b) => a + b, 0);
      overlap.forEach((o, i) => (expected[i]! += (report.audioDurationMs / 1000) * (o / total)));
      from = to;
    }
    const shares = LINES.map((_, i) => num(turnSpans(result, i + 1).stt[0], ATTR.STT_AUDIO_DURATION)!);
    shares.forEach((share, i) => expect(share, `turn ${i + 1}`).toBeCloseTo(expected[i]!, 2));
    expect(shares.reduce((a, b) => a + b, 0)).toBeCloseTo(session.audioDuration, 9);
  });

  it('turn costs add up to the session\'s, and the agent turn shows its turn\'s cost', () => {
    const c = costs(result);
    expect(c.reportTurns.reduce((a, b) => a + b, 0)).toBeCloseTo(c.session, 12);
    for (const turn of reportTurns(result).filter((t) => t.index > 0)) expect(c.spanTurns.get(turn.index), `turn ${turn.index}`).toBeCloseTo(turn.cost, 12);
    expect(result.counters.late_usage ?? 0).toBe(0);
  });

  it('one provider/model name per stage', () => {
    expect(stageModels(result)).toEqual({ stt: ['deepgram/nova-3'], llm: ['openai/gpt-4o-mini'], tts: ['openai/tts-1'] });
  });

  it('each plugin\'s compatibility facts are the ones compat.json (and the README\'s table) states', () => {
    const served = oa.find('request', 'speech');
    const servedAudio = served.reduce((n, r) => n + (r.seconds as number), 0);
    const quirks = (pairs: Array<[QuirkId, boolean]>): QuirkId[] => pairs.filter(([, seen]) => seen).map(([id]) => id);
    const entries: CompatEntry[] = [
      {
        plugin: '@livekit/agents-plugin-silero', version: installedVersion('@livekit/agents-plugin-silero'), role: 'VAD', scenario: 'openai-deepgram', stages: ['vad'],
        sources: { 'speech start/end': 'voicetrace', 'vad span per turn': 'voicetrace' },
        quirks: quirks([['vad_metrics_every_31_starts', sdkMetrics(result, 'vad_metrics').length === 0]]),
      },
      {
        plugin: '@livekit/agents-plugin-deepgram', version: installedVersion('@livekit/agents-plugin-deepgram'), role: 'STT (streaming)', scenario: 'openai-deepgram', stages: ['stt'],
        sources: { 'stt.latency': 'voicetrace', 'stt.audio_duration': 'provider', 'stt.cost': 'voicetrace' },
        quirks: quirks([
          ['stt_usage_periodic', sdkMetrics(result, 'stt_metrics').length < LINES.length],
          ['stt_last_window_unreported', dg.receivedAudioSeconds() > usageOf(result, 'stt_usage')!.audioDuration + 0.5],
        ]),
      },
      {
        plugin: '@livekit/agents-plugin-openai', version: installedVersion('@livekit/agents-plugin-openai'), role: 'LLM (chat completions, tools)', scenario: 'openai-deepgram', stages: ['llm', 'tool'],
        sources: { 'llm.ttft': 'provider', 'tokens (cached included)': 'provider', 'llm.cost': 'voicetrace' },
        quirks: [],
      },
      {
        plugin: '@livekit/agents-plugin-openai', version: installedVersion('@livekit/agents-plugin-openai'), role: 'TTS (tts-1, non-streaming)', scenario: 'openai-deepgram-tts', stages: ['tts'],
        sources: { 'tts.ttfb': 'provider', 'tts.characters': 'provider', 'tts.audio_duration': 'provider', 'tts.cost': 'voicetrace' },
        quirks: quirks([
          ['tts_stream_adapter_report', result.summary.usageCheck.some((d) => d.cause === 'sdk_counts_stream_adapter_report')],
          ['tts_drops_last_partial_frame', servedAudio - usageOf(result, 'tts_usage')!.audioDuration > 0.01],
        ]),
      },
    ];
    for (const entry of entries) expect(entry, 'run VOICETRACE_COMPAT_WRITE=1 pnpm test packages/plugin-compat to record a change').toEqual(committedEntry(entry));
    const rows: FigureRow[] = [];
    const finals = dg.find('final_transcript');
    for (let turn = 1; turn <= LINES.length; turn++) {
      const spans = turnSpans(result, turn);
      const anchors = sdkSpeechAnchors(result, turn)!;
      rows.push({ figure: 'stt.latency', turn, injected: Math.max(0, finals[turn - 1]!.at / 1000 - anchors.end), voicetrace: num(spans.stt[0], ATTR.STT_LATENCY)! });
      rows.push({ figure: 'llm.ttft', turn, injected: [300, 650, 250][turn - 1]! / 1000, voicetrace: num(spans.played, ATTR.LATENCY_LLM_TTFT)! });
      rows.push({ figure: 'tts.ttfb', turn, injected: [150, 350, 250][turn - 1]! / 1000, voicetrace: num(spans.played, ATTR.LATENCY_TTS_TTFB)! });
      rows.push({ figure: 'e2e', turn, injected: sdkPlayoutStart(result, turn)! - anchors.end, voicetrace: num(spans.played, ATTR.LATENCY_E2E)! });
    }
    rows.push({ figure: 'tts.characters', injected: served.reduce((n, r) => n + (r.characters as number), 0), voicetrace: usageOf(result, 'tts_usage')!.charactersCount! });
    rows.push({ figure: 'llm.input_tokens', injected: CHAT.reduce((n, c) => n + c.usage.promptTokens, 0), voicetrace: usageOf(result, 'llm_usage')!.inputTokens! });
    rows.push({ figure: 'stt.audio (reported)', injected: sdkMetrics(result, 'stt_metrics').reduce((n, r) => n + r.audioDurationMs / 1000, 0), voicetrace: usageOf(result, 'stt_usage')!.audioDuration! });
    recordFigures('openai-deepgram', rows, result);
  });
});
