import { voice } from '@livekit/agents';
import { ATTR } from '@voicetrace/conventions';
import { validateReport, type SessionReportJson } from '@voicetrace/report';
import { writeFileAtomic } from '@voicetrace/report/internal';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runDemo, type DemoResult } from '../src/run-demo.js';
import { readSpans, type FlatSpan } from './otlp-json.js';

// The demo session's report, written by the handle at the end of a real AgentSession.
let result: DemoResult;
let report: SessionReportJson;
let spans: FlatSpan[];
let sdkReference: Record<string, unknown>;

beforeAll(async () => {
  result = await runDemo({
    out: mkdtempSync(join(tmpdir(), 'voicetrace-report-')),
    onSession: (session) => {
      // the SDK's own report builder over the same session, for comparison once it ended
      session.on(voice.AgentSessionEventTypes.Close, () => {
        sdkReference = voice.sessionReportToJSON(
          voice.createSessionReport({ jobId: '', roomId: '', room: '', options: session.sessionOptions as never, events: [], chatHistory: session.history.copy(), modelUsage: session.usage.modelUsage as never }),
        );
      });
    },
  });
  report = JSON.parse(readFileSync(result.report.json!, 'utf8')) as SessionReportJson;
  spans = readSpans(result.tracesPath);
}, 120_000);

describe('the session report of a real AgentSession', () => {
  it('is written next to the traces and validates against the shipped schema', () => {
    expect(result.report.json).toBe(join(result.tracesPath, '..', 'report.json'));
    expect(validateReport(report)).toEqual([]);
    expect(report.voicetrace.session_id).toBe(result.sessionId);
  });

  it('carries the SDK fields as the SDK builds them (events from our own log: the SDK keeps none without recording)', () => {
    for (const key of ['job_id', 'room_id', 'room', 'options', 'chat_history', 'enable_user_data_training', 'usage', 'sdk_version']) {
      expect(report[key as keyof SessionReportJson], key).toEqual(sdkReference[key]);
    }
    // the SDK records only in a job: the recording is the demo's own, in the SDK's fields and units
    expect(sdkReference.audio_recording_path).toBeNull();
    expect(report.audio_recording_path).toBe(join(result.tracesPath, '..', 'recording.wav'));
    expect(report.audio_recording_started_at! / 1000).toBe(report.voicetrace.recording!.started_at);
    const types = report.events.map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['user_input_transcribed', 'agent_state_changed', 'conversation_item_added', 'function_tools_executed', 'speech_created']));
    expect(types).not.toContain('metrics_collected');
    expect(report.voicetrace.event_log).toEqual({ kept: report.events.length, dropped: 0 });
  });

  it('has the latency figures, wait slices and cost the agent turn spans carry', () => {
    const played = spans.filter((s) => s.name === 'agent_turn' && s.attributes[ATTR.LATENCY_E2E] !== undefined);
    const replies = report.voicetrace.turns.flatMap((t) => t.replies).filter((r) => r.latency?.e2e !== undefined);
    expect(replies).toHaveLength(played.length);
    for (const reply of replies) {
      const span = played.find((s) => s.spanId === reply.trace?.span_id)!;
      expect(span, reply.speech_id).toBeDefined();
      expect(reply.latency!.e2e).toBe(span.attributes[ATTR.LATENCY_E2E]);
      expect(reply.latency!.llm_ttft).toBe(span.attributes[ATTR.LATENCY_LLM_TTFT]);
      expect(reply.latency!.tts_ttfb).toBe(span.attributes[ATTR.LATENCY_TTS_TTFB]);
      // the agent turn that played carries its turn's cost: the turn's STT and its replies' requests
      const turn = report.voicetrace.turns.find((t) => t.replies.includes(reply))!;
      expect(turn.cost).toBeCloseTo(span.attributes[ATTR.TURN_COST] as number, 12);
      expect(JSON.stringify(reply.wait)).toBe(span.attributes[ATTR.WAIT_BREAKDOWN]);
      expect(reply.trace!.trace_id).toBe(span.traceId);
    }
    const session = spans.find((s) => s.name === 'agent_session')!;
    expect(report.voicetrace.cost).toBe(session.attributes[ATTR.SESSION_COST]);
    // every request's cost is in exactly one turn: the turns add up to the session
    expect(report.voicetrace.turns.reduce((sum, t) => sum + (t.cost ?? 0), 0)).toBeCloseTo(report.voicetrace.cost, 12);
    expect(report.voicetrace.latency.e2e!.p95).toBe(session.attributes['voicetrace.session.latency.e2e.p95']);
    expect(report.voicetrace.trace.trace_id).toBe(session.traceId);
    expect(report.voicetrace.trace.links.jaeger).toBe(`http://localhost:16686/trace/${session.traceId}`);
  });

  it('has every turn with the user words, the reply, tools, the handoff and the interruption in place', () => {
    const turns = report.voicetrace.turns;
    expect(turns.filter((t) => t.user).map((t) => t.index)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(turns.find((t) => t.index === 1)!.user!.transcript).toMatch(/weather/);
    expect(turns.find((t) => t.index === 1)!.replies[0]!.tools.map((t) => t.name)).toEqual(['get_weather']);
    expect(turns.find((t) => t.index === 1)!.replies[0]!.tools[0]!.output).toMatch(/sunny/);
    expect(turns.flatMap((t) => t.handoffs).map((h) => h.to_agent)).toContain('billing');
    const interrupted = turns.flatMap((t) => t.replies).filter((r) => r.interrupted);
    expect(interrupted).toHaveLength(1);
    expect(interrupted[0]!.interruptions[0]!.stopped_agent).toBe(true);
    expect(interrupted[0]!.interruptions[0]!.overlap).toBeGreaterThan(0);
    expect(report.voicetrace.drops).toEqual({});
  });

  it('records the call and cuts each turn out of it: the caller in the user clip, the agent in the reply\'s, each played by report.html', () => {
    const dir = join(result.tracesPath, '..');
    const recording = readStereoWav(report.audio_recording_path!);
    const origin = report.voicetrace.recording!.started_at!;
    const level = (channel: 0 | 1, from: number, to: number): number => rms(recording, channel, from - origin, to - origin);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    const turns = report.voicetrace.turns.filter((t) => t.user);
    const agentAudio = report.voicetrace.turns.flatMap((t) => t.replies).filter((r) => r.first_audio_at !== undefined);
    for (const turn of turns) {
      const user = turn.user!;
      const clip = user.clip!;
      expect(clip.path, `turn ${turn.index}`).toBe(`clips/turn-00${turn.index}-user.wav`);
      // the VAD's speech with a quarter second either side, at its offset in the recording
      expect(clip.offset).toBeCloseTo(user.speech_start! - 0.25 - origin, 3);
      expect(clip.duration!).toBeCloseTo(user.speech_end! - user.speech_start! + 0.5, 3);
      expect(readFileSync(join(dir, clip.path!)).readUInt32LE(40) / 2 / 16_000).toBeCloseTo(clip.duration!, 3);
      // the caller's tone is on the left while they speak; the right is silent unless the agent was talking over them
      expect(level(0, user.speech_start! + 0.05, user.speech_end! - 0.05), `turn ${turn.index} caller`).toBeGreaterThan(3_000);
      const agentTalking = agentAudio.some((r) => r.first_audio_at! < user.speech_end! && (r.ended_at ?? Infinity) > user.speech_start!);
      if (!agentTalking) expect(level(1, user.speech_start!, user.speech_end!), `turn ${turn.index} agent side`).toBe(0);
      expect(html).toContain(`src="${clip.path}"`);
    }
    const replyClips = report.voicetrace.turns.flatMap((t) => t.replies.filter((r) => r.clip).map((r) => ({ turn: t.index, reply: r, clip: r.clip! })));
    expect(replyClips.map((c) => c.turn)).toEqual(turns.map((t) => t.index));
    for (const { turn, reply, clip } of replyClips) {
      expect(clip.path).toBe(`clips/turn-00${turn}-agent.wav`);
      expect(level(1, reply.first_audio_at! + 0.05, Math.min(reply.ended_at!, reply.first_audio_at! + 1)), `turn ${turn} agent`).toBeGreaterThan(1_000);
      expect(html).toContain(`src="${clip.path}"`);
    }
    expect(report.voicetrace.recording!.clips).toMatchObject({ cut: turns.length + replyClips.length, skipped: {} });
  });

  it('a clip that cannot be cut is named and counted, and the report is still written (no ffmpeg; a budget too short)', async () => {
    for (const [clips, reason] of [
      [{ ffmpegPath: join(tmpdir(), 'no-such-ffmpeg') }, 'no_ffmpeg'],
      [{ timeoutMs: 1 }, 'budget_exceeded'],
    ] as const) {
      const out = mkdtempSync(join(tmpdir(), `voicetrace-report-${reason}-`));
      const call = await runDemo({ out, turns: 2, voicetrace: { report: { dir: out, clips } } });
      const written = JSON.parse(readFileSync(call.report.json!, 'utf8')) as SessionReportJson;
      expect(validateReport(written)).toEqual([]);
      const asked = written.voicetrace.turns.flatMap((t) => [t.user?.clip, ...t.replies.map((r) => r.clip)]).filter((c) => c !== undefined);
      expect(asked.length, reason).toBe(4);
      for (const clip of asked) expect(clip, reason).toEqual({ offset: clip.offset, skipped: reason });
      expect(written.voicetrace.recording!.clips).toMatchObject({ cut: 0, skipped: { [reason]: 4 } });
      expect(readFileSync(join(call.tracesPath, '..', 'report.html'), 'utf8')).toContain(`clip skipped: ${reason}`);
    }
  }, 120_000);

  it('leaves content out when PII is not allowed', async () => {
    const out = mkdtempSync(join(tmpdir(), 'voicetrace-report-nopii-'));
    const quiet = await runDemo({ out, voicetrace: { allowPii: false } });
    const text = readFileSync(quiet.report.json!, 'utf8');
    expect(validateReport(JSON.parse(text))).toEqual([]);
    for (const phrase of ['weather like in Paris', 'charged twice', 'sunny in Paris', '\\"billing question\\"']) expect(text).not.toContain(phrase);
    expect((JSON.parse(text) as SessionReportJson).voicetrace.pii_included).toBe(false);
    // audio is content: no clip is cut, none linked
    expect(existsSync(join(quiet.tracesPath, '..', 'clips'))).toBe(false);
    expect(text).not.toContain('"clip"');
  }, 120_000);
});

/** A 16-bit stereo WAV's two channels. */
function readStereoWav(path: string): { rate: number; left: Int16Array; right: Int16Array } {
  const wav = readFileSync(path);
  expect(wav.readUInt16LE(22)).toBe(2);
  const rate = wav.readUInt32LE(24);
  const frames = (wav.length - 44) / 4;
  const left = new Int16Array(frames);
  const right = new Int16Array(frames);
  for (let i = 0; i < frames; i++) [left[i], right[i]] = [wav.readInt16LE(44 + i * 4), wav.readInt16LE(46 + i * 4)];
  return { rate, left, right };
}

/** RMS of one channel over [from, to) seconds into the recording. */
function rms(wav: { rate: number; left: Int16Array; right: Int16Array }, channel: 0 | 1, from: number, to: number): number {
  const samples = channel === 0 ? wav.left : wav.right;
  const a = Math.max(0, Math.round(from * wav.rate));
  const b = Math.min(samples.length, Math.round(to * wav.rate));
  let sum = 0;
  for (let i = a; i < b; i++) sum += samples[i]! ** 2;
  return b > a ? Math.sqrt(sum / (b - a)) : 0;
}

describe('writeFileAtomic', () => {
  it('leaves the old file or none, never a half file, when the writer dies mid-write', () => {
    const dir = mkdtempSync(join(tmpdir(), 'voicetrace-atomic-'));
    const target = join(dir, 'report.json');
    writeFileSync(target, JSON.stringify({ version: 'old' }));
    // a child process starts writing a 50 MB report and is killed while doing so
    const script = `
      const { writeFileAtomic } = await import(${JSON.stringify(new URL('../../../packages/report/dist/internal/index.js', import.meta.url).href)});
      setTimeout(() => process.kill(process.pid, 'SIGKILL'), 30);
      await writeFileAtomic(${JSON.stringify(target)}, JSON.stringify({ version: 'new', pad: 'x'.repeat(50e6) }), { timeoutMs: 60000 });`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script]);
    expect(child.signal).toBe('SIGKILL');
    expect(JSON.parse(readFileSync(target, 'utf8'))).toEqual({ version: 'old' });
    expect(readdirSync(dir).filter((f) => f !== 'report.json').every((f) => f.endsWith('.tmp'))).toBe(true);
  });

  it('gives up within its bound and removes its temporary file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'voicetrace-atomic-'));
    await expect(writeFileAtomic(join(dir, 'r.json'), 'x'.repeat(200e6), { timeoutMs: 1 })).rejects.toMatchObject({ name: 'ReportWriteError', reason: 'timeout' });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(existsSync(join(dir, 'r.json'))).toBe(false);
  });
});
