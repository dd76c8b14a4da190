import * as deepgram from '@livekit/agents-plugin-deepgram';
import * as openai from '@livekit/agents-plugin-openai';
import { ATTR } from '@voicetrace/conventions';
import { OpenAI } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compatVoiceTrace, runCall, type CallLine, type CallResult } from '../src/call.js';
import { SpeakingCaller } from '../src/caller.js';
import { commonFailures, numberAttribute as num, reportErrors, sdkMetrics, spansNamed, turnSpans, usageOf } from '../src/checks.js';
import { committedEntry, installedVersion, recordFigures, type FigureRow } from '../src/results.js';
import type { StandInServer } from '../src/servers/base.js';
import { startDeepgramStt } from '../src/servers/deepgram.js';
import { redirectFetch, startOpenAi, type ChatScript } from '../src/servers/openai.js';
import { sileroVad, spanTimes, speechOrSkip } from '../src/support.js';

// first: the SDK's logger and voicetrace's tracer provider (one per process)
compatVoiceTrace();
const speech = await speechOrSkip();

/** 30 ms: the tolerance for a timing figure on a loaded 2-core machine. */
const TIMING = 0.03;

/**
 * A call that goes wrong the ways calls do: the LLM answers its first request with a 503 (the SDK
 * retries it), and the caller talks over the agent's long answer (a barge-in, its overlap measured
 * from the SDK's anchor). Then a call whose Deepgram socket drops.
 */
const LINES: CallLine[] = [
  { text: 'Hi, what is the weather like in Paris today?' },
  { text: 'Great, and what are your opening hours?' },
  { text: 'Sorry, do you open on Sundays?', bargeInAfterMs: 1200 },
  { text: 'Thanks, that is all for today.' },
];
const CHAT: ChatScript[] = [
  { when: 'weather', text: 'It is eighteen degrees and sunny in Paris.', ttftMs: 300, usage: { promptTokens: 90, completionTokens: 10 }, fail: { status: 503, times: 1 } },
  {
    when: 'opening hours',
    text: 'We open at nine in the morning and close at eight in the evening. On Sundays we open at ten. Public holidays can differ, so check the store page before you come.',
    ttftMs: 300,
    usage: { promptTokens: 120, completionTokens: 40 },
  },
  { when: 'sundays', text: 'Yes, on Sundays we open at ten and close at four.', ttftMs: 300, usage: { promptTokens: 170, completionTokens: 13 } },
  { when: 'that is all', text: 'You are welcome, goodbye!', ttftMs: 250, usage: { promptTokens: 190, completionTokens: 6 } },
];

describe.skipIf(!speech)('faults and a barge-in with the real plugins: an LLM 503 retried, the caller talking over the agent', () => {
  let result: CallResult;
  let oa: StandInServer;
  let dg: Awaited<ReturnType<typeof startDeepgramStt>>;
  beforeAll(async () => {
    const caller = new SpeakingCaller();
    oa = await startOpenAi({ chat: CHAT, speech: { ttfbMs: 200 } });
    dg = await startDeepgramStt({ caller, transcripts: LINES.map((l) => ({ text: l.text, finalDelayMs: 400 })) });
    const client = new OpenAI({ apiKey: 'sk-test', baseURL: 'https://api.openai.com/v1', fetch: redirectFetch(oa.httpUrl), maxRetries: 0 });
    result = await runCall({
      caller,
      stt: new deepgram.STT({ apiKey: 'dg-test', baseUrl: dg.wsUrl }),
      vad: await sileroVad(),
      llm: new openai.LLM({ model: 'gpt-4o-mini', client }),
      tts: new openai.TTS({ model: 'tts-1', client }),
      lines: LINES,
      turnHandling: { turnDetection: 'vad', endpointing: { minDelay: 300, maxDelay: 3000 } },
    });
  }, 180_000);
  afterAll(async () => {
    if (process.env.COMPAT_DUMP) console.log(JSON.stringify({ openai: oa?.events, deepgram: dg?.events.filter((e) => e.type !== 'audio') }));
    await oa?.close();
    await dg?.close();
  });

  it('the fault happened and the call went on: the 503 then its retry, every line answered', () => {
    expect(oa.find('fault', 'chat')).toHaveLength(1);
    expect(oa.find('request', 'chat')).toHaveLength(CHAT.length + 1);
    expect(result.sdk.messages.filter((m) => m.role === 'user').map((m) => m.text)).toEqual(LINES.map((l) => l.text));
  });

  it('voicetrace: each error the SDK reported is one error, on the stage and turn it happened in; the retried request is counted once', () => {
    expect(result.summary.errors).toBe(result.sdk.errors.length);
    expect(result.sdk.errors.filter((e) => e.type === 'llm_error')).toHaveLength(1);
    expect(reportErrors(result).filter((e) => e.source === 'openai.LLM')).toMatchObject([{ turn: 1, recoverable: true }]);
    // one LLM report per answered request: the failed attempt sent no usage
    expect(usageOf(result, 'llm_usage')!.requests).toBe(CHAT.length);
    expect(usageOf(result, 'llm_usage')!.inputTokens).toBe(CHAT.reduce((n, c) => n + c.usage.promptTokens, 0));
    expect(usageOf(result, 'stt_usage')!.audioDuration).toBeCloseTo(sdkMetrics(result, 'stt_metrics').reduce((n, m) => n + m.audioDurationMs / 1000, 0), 9);
  });

  it('voicetrace: the barge-in\'s overlap runs from the SDK\'s anchor of the caller\'s speech to the agent stopping, on the interruption span and the agent turn', () => {
    const interrupted = spansNamed(result, 'agent_turn').filter((s) => s.attributes[ATTR.TURN_INTERRUPTED] === true);
    expect(interrupted).toHaveLength(1);
    const barge = spansNamed(result, 'interruption_detection').filter((s) => s.attributes[ATTR.INTERRUPTION_STOPPED_AGENT] === true);
    expect(barge).toHaveLength(1);
    const stopped = spanTimes(result.spans.find((s) => s.name === 'agent_speaking' && s.parentSpanContext?.spanId === interrupted[0]!.spanContext().spanId)!).end;
    const userStart = spanTimes(spansNamed(result, 'user_speaking').find((s) => spanTimes(s).start < stopped && spanTimes(s).end > stopped)!).start;
    const overlap = num(barge[0], ATTR.TURN_OVERLAP)!;
    expect(Math.abs(overlap - (stopped - userStart))).toBeLessThan(TIMING);
    // and the caller really was speaking that long: within the VAD's onset accuracy of the true start
    const truth = stopped - result.spoken[2]!.voiceStartAt / 1000;
    expect(Math.abs(overlap - truth)).toBeLessThan(0.15);
    const rows: FigureRow[] = [{ figure: 'barge-in overlap (SDK anchor)', injected: stopped - userStart, voicetrace: overlap }, { figure: 'barge-in overlap (caller truth)', injected: truth, voicetrace: overlap }];
    recordFigures('pipeline-faults', rows, result);
  });

  it('voicetrace: one VAD and one STT span per turn, the SDK\'s anchors, slices and turn costs that add up', () => {
    expect(commonFailures(result, { userTurns: LINES.length, vad: true, stt: true })).toEqual([]);
    for (let turn = 1; turn <= LINES.length; turn++) expect(turnSpans(result, turn).played, `turn ${turn}`).toBeDefined();
  });
});

describe.skipIf(!speech)('Deepgram\'s socket drops while the agent answers', () => {
  let result: CallResult;
  let oa: StandInServer;
  let dg: Awaited<ReturnType<typeof startDeepgramStt>>;
  const lines: CallLine[] = [LINES[0]!, { text: LINES[1]!.text, noReply: true }];
  beforeAll(async () => {
    const caller = new SpeakingCaller();
    oa = await startOpenAi({ chat: CHAT.map((c) => ({ ...c, fail: undefined })), speech: { ttfbMs: 200 } });
    // dropped 2.5 s into the first utterance: after its final transcript, while the agent answers
    dg = await startDeepgramStt({ caller, transcripts: lines.map((l) => ({ text: l.text, finalDelayMs: 400 })), dropSocket: { utterance: 0, afterMs: 3500 } });
    const client = new OpenAI({ apiKey: 'sk-test', baseURL: 'https://api.openai.com/v1', fetch: redirectFetch(oa.httpUrl), maxRetries: 0 });
    result = await runCall({
      caller,
      stt: new deepgram.STT({ apiKey: 'dg-test', baseUrl: dg.wsUrl }),
      vad: await sileroVad(),
      llm: new openai.LLM({ model: 'gpt-4o-mini', client }),
      tts: new openai.TTS({ model: 'tts-1', client }),
      lines,
      turnHandling: { turnDetection: 'vad', endpointing: { minDelay: 300, maxDelay: 3000 } },
    });
  }, 180_000);
  afterAll(async () => {
    await oa?.close();
    await dg?.close();
  });

  it('the plugin never reconnects: its socket monitor is a Task the run loop never awaits (stt.ts:591-594), so the next utterance is never transcribed, and the SDK reports no error', () => {
    expect(dg.find('fault')).toHaveLength(1);
    expect(dg.find('connect')).toHaveLength(1);
    expect(dg.find('final_transcript').map((e) => e.delivered)).toEqual([true, false]);
    expect(result.sdk.messages.filter((m) => m.role === 'user').map((m) => m.text)).toEqual([LINES[0]!.text]);
    expect(result.sdk.errors).toEqual([]);
    const entry = {
      plugin: '@livekit/agents-plugin-deepgram', version: installedVersion('@livekit/agents-plugin-deepgram'), role: 'STT (streaming)', scenario: 'pipeline-faults', stages: ['stt'],
      sources: {}, quirks: ['stt_dropped_socket_never_recovers' as const],
    };
    expect(entry).toEqual(committedEntry(entry));
  });

  it('voicetrace: the caller\'s second utterance is a user turn with speech (its VAD span) and no transcript, and the turns still add up', () => {
    if (process.env.COMPAT_DUMP) console.log(JSON.stringify(result.summary.turns.map((t) => ({ index: t.index, user: t.user && { ...t.user, vad: undefined } }))));
    const second = result.summary.turns.find((t) => t.index === 2);
    expect(second?.user?.speechStart).toBeDefined();
    expect(second?.user?.transcript).toBeUndefined();
    expect(turnSpans(result, 2).vad).toHaveLength(1);
    const c = result.summary.turns.reduce((n, t) => n + t.cost, 0);
    expect(c).toBeCloseTo(result.summary.totalCost, 12);
  });
});
