// Quality signals on the real AgentSession of the demo: `--inject` causes one signal on a chosen turn;
// it fires on exactly that turn, at the injected size, and nothing fires that the script itself or
// the injection does not cause (the demo README lists the script's own signals).
import type { SessionReportJson } from '@voicetrace/report';
import { initializeLogger } from '@livekit/agents';
import { setupVoiceTrace, type VoiceTrace } from '@voicetrace/livekit';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Injections } from '../src/conversation.js';
import { runSession } from '../src/run-demo.js';

type Section = SessionReportJson['voicetrace'];

const out = mkdtempSync(join(tmpdir(), 'voicetrace-signals-'));

/** One demo call with `inject` on the shared voicetrace setup (several run at once: the SDK has one tracer provider per process). */
async function call(vt: VoiceTrace, inject: Injections): Promise<Section> {
  const { report } = await runSession(vt, { out, inject, sessionId: `sess_signals_${randomUUID().slice(0, 8)}` });
  return (JSON.parse(readFileSync(report.json!, 'utf8')) as SessionReportJson).voicetrace;
}

/** `turn:signal` of every signal of the call. */
const fired = (v: Section) => v.turns.flatMap((t) => (t.signals ?? []).map((s) => `${t.index}:${s.name}`));
const e2e = (v: Section, turn: number) => v.turns.find((t) => t.index === turn)!.replies.find((r) => r.latency?.e2e !== undefined)!.latency!.e2e!;

/** The script's own signals (examples/demo/README.md): its barge-in, its repeated long answer, any slow turn. */
const SCRIPT = (signal: string) => ['3:talk_over_user', '3:agent_repetition'].includes(signal) || signal.endsWith(':slow_turn');

let baseline: Section;
const runs = new Map<string, Section>();

const INJECTIONS: Array<[string, Injections]> = [
  ['dead-air', { deadAir: { turn: 3, seconds: 2.5 } }],
  ['cut-off', { cutOff: 2 }],
  ['repeat', { repeat: 3 }],
  ['hangup', { hangup: 5 }],
  ['tts-gap', { ttsGap: { turn: 2, seconds: 0.8 } }],
  // three causes on three turns of one call (each turn's signals are its own)
  ['tool-error+backchannel+missed', { toolError: 1, backchannel: 2, missed: 5 }],
];

beforeAll(async () => {
  // the calls run at once: each is ~27 s of mostly waiting, and one after the other they took 3 minutes of the suite
  initializeLogger({ pretty: true, level: 'warn' });
  const vt = setupVoiceTrace({ serviceName: 'voicetrace-demo', file: join(out, 'traces.jsonl'), handleSignals: false, otlp: false, metrics: false, logs: false });
  try {
    const [first, ...rest] = await Promise.all([call(vt, {}), ...INJECTIONS.map(([, inject]) => call(vt, inject))]);
    baseline = first!;
    INJECTIONS.forEach(([name], i) => runs.set(name, rest[i]!));
  } finally {
    await vt.shutdown();
  }
}, 300_000);

describe('quality signals in the demo call, one injected cause at a time', () => {
  it('the default call raises only the script\'s own signals', () => {
    expect(fired(baseline).filter((s) => !SCRIPT(s))).toEqual([]);
    expect(fired(baseline)).toEqual(expect.arrayContaining(['3:talk_over_user', '3:agent_repetition']));
  });

  it('dead-air=3:2.5: dead air on turn 3 only, the wait 2.5 s longer than without it, the excess over 2 s its size', () => {
    const v = runs.get('dead-air')!;
    const deadAir = v.turns.flatMap((t) => (t.signals ?? []).filter((s) => s.name === 'dead_air').map((s) => [t.index, s.seconds!] as const));
    expect(deadAir.map(([turn]) => turn)).toEqual([3]);
    expect(Math.abs(e2e(v, 3) - e2e(baseline, 3) - 2.5)).toBeLessThan(0.05);
    expect(deadAir[0]![1]).toBeCloseTo(e2e(v, 3) - 2, 6);
    expect(v.signals?.dead_air?.seconds).toBeCloseTo(deadAir[0]![1], 9);
    // dead air comes with a slow turn (documented); nothing else
    expect(fired(v).filter((s) => !SCRIPT(s) && s !== '3:dead_air')).toEqual([]);
  });

  it('cut-off=2: the caller going on before the answer is a cut-off on turn 2 and a cancelled reply', () => {
    const v = runs.get('cut-off')!;
    expect(fired(v).filter((s) => s.endsWith(':cut_off'))).toEqual(['2:cut_off']);
    expect(v.cancelled_replies).toBe(1);
    // a reply that started while the caller spoke is agent-over-user talk-over (documented as coming with it)
    expect(fired(v).filter((s) => !SCRIPT(s) && s !== '2:cut_off' && s !== '2:talk_over_agent')).toEqual([]);
  });

  it('repeat=3: turn 3 asks turn 2\'s question again: a repeated request that names turn 2', () => {
    const v = runs.get('repeat')!;
    const repeats = v.turns.flatMap((t) => (t.signals ?? []).filter((s) => s.name === 'repeated_user_request').map((s) => [t.index, s.repeats_turn]));
    expect(repeats).toEqual([[3, 2]]);
    // the scripted model answers the same question the same way: agent repetition on turn 3 (the script's already)
    expect(fired(v).filter((s) => !SCRIPT(s) && s !== '3:repeated_user_request')).toEqual([]);
  });

  it('hangup=5: the call ends 300 ms into the answer to turn 5: abandonment on turn 5, and no interruption (nobody spoke over it)', () => {
    const v = runs.get('hangup')!;
    expect(fired(v).filter((s) => s.endsWith(':abandonment'))).toEqual(['5:abandonment']);
    expect(fired(v).filter((s) => !SCRIPT(s) && s !== '5:abandonment')).toEqual([]);
    // the SDK marks the reply it stopped interrupted; the only interruption is the script's barge-in
    expect(v.interruptions).toBe(baseline.interruptions);
    expect(v.turns.find((t) => t.index === 5)!.replies.some((r) => r.interrupted)).toBe(true);
  });

  it('tts-gap=2:0.8: the answer to turn 2 goes silent for 0.8 s between its sentences: dead air inside that reply, of that size', () => {
    const v = runs.get('tts-gap')!;
    const deadAir = v.turns.flatMap((t) => (t.signals ?? []).filter((s) => s.name === 'dead_air').map((s) => ({ turn: t.index, ...s })));
    expect(deadAir.map((s) => [s.turn, s.where])).toEqual([[2, 'reply']]);
    expect(Math.abs(deadAir[0]!.seconds! - 0.8)).toBeLessThan(0.05);
    // inside the reply: after its first audio, and the wait before it untouched (not dead air of the wait, not a slow turn)
    const reply = v.turns.find((t) => t.index === 2)!.replies.find((r) => r.speech_id === deadAir[0]!.speech_id)!;
    expect(deadAir[0]!.at).toBeGreaterThan(reply.first_audio_at!);
    expect(v.signals?.dead_air).toEqual({ count: 1, seconds: deadAir[0]!.seconds });
    expect(fired(v).filter((s) => !SCRIPT(s) && s !== '2:dead_air')).toEqual([]);
  });

  it('tool-error=1, backchannel=2, missed=5: an error turn on 1, an "uh-huh" that did not stop the answer to 2, a mumble before turn 5\'s words', () => {
    const v = runs.get('tool-error+backchannel+missed')!;
    // a backchannel is talk-over too (documented as coming with it)
    expect(fired(v).filter((s) => !SCRIPT(s)).sort()).toEqual(['1:error_turn', '2:backchannel', '2:talk_over_user', '5:missed_speech']);
    const uhHuh = v.turns.find((t) => t.index === 2)!.signals!.find((s) => s.name === 'talk_over_user')!;
    expect(Math.abs(uhHuh.seconds! - 0.3)).toBeLessThan(0.05);
    expect(v.errors).toBe(1);
    // the sound did not stop the agent: no interruption beyond the script's barge-in
    expect(v.interruptions).toBe(baseline.interruptions);
    expect(v.user_turns).toBe(baseline.user_turns);
  });

  it('the report\'s totals are its turns\' records', () => {
    for (const v of [baseline, ...runs.values()]) {
      const counts: Record<string, number> = {};
      for (const t of v.turns) for (const s of t.signals ?? []) counts[s.name] = (counts[s.name] ?? 0) + 1;
      expect(Object.fromEntries(Object.entries(v.signals ?? {}).map(([k, x]) => [k, x.count]))).toEqual(counts);
    }
    const table = [['baseline', baseline] as const, ...runs.entries()].map(([name, v]) => `${name}: ${fired(v).join(', ')}`);
    // the measured sizes beside their 50 ms tolerances (the calls run at once: what the load costs shows here)
    const size = (v: Section, turn: number, name: string) => v.turns.find((t) => t.index === turn)?.signals?.find((s) => s.name === name)?.seconds;
    const sizes = [
      `dead-air e2e shift ${(e2e(runs.get('dead-air')!, 3) - e2e(baseline, 3)).toFixed(3)} s (injected 2.5)`,
      `tts-gap dead air ${size(runs.get('tts-gap')!, 2, 'dead_air')?.toFixed(3)} s (injected 0.8)`,
      `backchannel talk-over ${size(runs.get('tool-error+backchannel+missed')!, 2, 'talk_over_user')?.toFixed(3)} s (0.3)`,
    ];
    console.info(`[signals]\n${table.join('\n')}\n${sizes.join('\n')}`);
  });
});
