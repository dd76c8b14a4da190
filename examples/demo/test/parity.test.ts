// One figure, one computation (issue 20): the same calls read through every output a user looks at —
// the live model, the session span, report.json, the report rebuilt from traces.jsonl, the OTel
// metrics, `voicetrace summarize` (of report.json and of traces.jsonl) and the LangFuse scores —
// compared figure by figure (0.5 ms, $0.000001). A figure an output derives on its own shows here.
import { llm, voice } from '@livekit/agents';
import type { SessionSnapshot } from '@voicetrace/core';
import { ATTR, METRIC, METRIC_ATTR, SESSION_LATENCY_METRICS, SIGNALS, WAIT_CONTRIBUTIONS, sessionLatencyKey } from '@voicetrace/conventions';
import { startLangfuseContractServer, type LangfuseContractServer } from '@voicetrace/langfuse-contract';
import { LANGFUSE_SCORE_NAMES } from '@voicetrace/langfuse';
import { setupVoiceTrace, type MetricsOptions } from '@voicetrace/livekit';
import { reportFromTraces, type SessionReportJson } from '@voicetrace/report';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedCall } from '../../../packages/bench/src/workload.js';
import { nextAgentState, nextReply } from '../src/conversation.js';
import { runDemo } from '../src/run-demo.js';
import { readSpans, type FlatSpan } from './otlp-json.js';

const KEYS = { publicKey: 'pk-lf-parity', secretKey: 'sk-lf-parity' };
const SECONDS = 0.0005;
const USD = 0.000001;
const CLI = fileURLToPath(new URL('../../../packages/report/dist/cli.js', import.meta.url));

type ResourceMetrics = Parameters<NonNullable<MetricsOptions['exporter']>['export']>[0];

/** Keeps the last cumulative collection the SDK exports (at shutdown at the latest). */
function lastMetrics(): {
  exporter: NonNullable<MetricsOptions['exporter']>;
  sum(name: string, where?: Record<string, string>): number;
  histogram(name: string): { count: number; sum: number };
} {
  let last: ResourceMetrics | undefined;
  const points = (name: string, where: Record<string, string> = {}) =>
    (last?.scopeMetrics ?? [])
      .flatMap((s) => s.metrics)
      .filter((m) => m.descriptor.name === name)
      .flatMap((m) => m.dataPoints as Array<{ value: unknown; attributes: Record<string, unknown> }>)
      .filter((p) => Object.entries(where).every(([k, v]) => p.attributes[k] === v));
  return {
    exporter: {
      export: (metrics, done) => {
        last = metrics;
        done({ code: 0 });
      },
      forceFlush: async () => {},
      shutdown: async () => {},
    },
    sum: (name, where) => points(name, where).reduce((n, p) => n + (p.value as number), 0),
    histogram: (name) =>
      points(name).reduce((acc, p) => ({ count: acc.count + (p.value as { count: number }).count, sum: acc.sum + ((p.value as { sum?: number }).sum ?? 0) }), { count: 0, sum: 0 }),
  };
}

interface Summary {
  user_turns: number;
  replies: number;
  latency: Record<string, { count: number; p50?: number; p95?: number; p99?: number; max?: number; mean?: number }>;
  wait: Record<string, { count: number; p50?: number; p95?: number; p99?: number; max?: number; mean?: number }>;
  cost: { total: number };
  interruptions: { count: number };
  signals: Record<string, { count: number; seconds?: number }>;
}

function summarize(path: string): Summary {
  return JSON.parse(execFileSync(process.execPath, [CLI, 'summarize', path, '--json'], { encoding: 'utf8', maxBuffer: 1 << 28 })) as Summary;
}

/** Everything a user can read of one call. */
interface Outputs {
  name: string;
  snapshot: SessionSnapshot;
  live: SessionReportJson['voicetrace'];
  rebuilt: SessionReportJson['voicetrace'];
  span: FlatSpan['attributes'];
  metrics: ReturnType<typeof lastMetrics>;
  fromReport: Summary;
  fromTraces: Summary;
  scores: LangfuseContractServer['scores'];
}

let langfuse: LangfuseContractServer;
const calls: Outputs[] = [];

/** One call through setupVoiceTrace with every output on: file, report, metrics, LangFuse. */
async function readCall(name: string, run: (voicetrace: Parameters<typeof setupVoiceTrace>[0]) => Promise<{ snapshot: SessionSnapshot; reportPath: string; tracesPath: string }>): Promise<Outputs> {
  langfuse.reset();
  const metrics = lastMetrics();
  const { snapshot, reportPath, tracesPath } = await run({ langfuse: { ...KEYS, baseUrl: langfuse.baseUrl }, otlp: false, metrics: { exporter: metrics.exporter }, logs: false, batch: { scheduledDelayMillis: 100 } });
  const live = (JSON.parse(readFileSync(reportPath, 'utf8')) as SessionReportJson).voicetrace;
  const rebuilt = (await reportFromTraces(tracesPath, { sessionId: snapshot.sessionId })).voicetrace;
  const session = readSpans(tracesPath).find((s) => s.name === 'agent_session' && s.attributes[ATTR.SESSION_ID] === snapshot.sessionId)!;
  return { name, snapshot, live, rebuilt, span: session.attributes, metrics, fromReport: summarize(reportPath), fromTraces: summarize(tracesPath), scores: [...langfuse.scores] };
}

/** A demo call (`runDemo` options beside the outputs). */
function demoCall(name: string, options: Omit<Parameters<typeof runDemo>[0], 'out' | 'voicetrace'> & { voicetrace?: Parameters<typeof setupVoiceTrace>[0] } = {}) {
  return readCall(name, async (voicetrace) => {
    const result = await runDemo({ ...options, out: mkdtempSync(join(tmpdir(), `voicetrace-parity-${name}-`)), voicetrace: { ...voicetrace, ...options.voicetrace } });
    return { snapshot: result.summary, reportPath: result.report.json!, tracesPath: result.tracesPath };
  });
}

/**
 * A call with what goes wrong: the weather tool fails, the LLM's request for the opening hours
 * fails once with a retryable 503 (the SDK reports the error and retries), and the caller speaks
 * again 150 ms into the agent's thinking, before any audio of its reply (a cancelled reply).
 */
async function faultyConversation(session: voice.AgentSession, user: import('@voicetrace/scripted-plugins').ScriptedUser): Promise<void> {
  await session.say('Hello, thanks for calling Acme. How can I help you today?').waitForPlayout();
  let reply = nextReply(session);
  await user.say('What is the weather like in Paris today?');
  await reply;
  reply = nextReply(session);
  await user.say('What are your opening hours on Sunday?');
  await reply;
  const thinking = nextAgentState(session, 'thinking');
  const said = user.say('I have a question about my bill.');
  await thinking;
  await said;
  await new Promise((resolve) => setTimeout(resolve, 150));
  reply = nextReply(session);
  await user.say('Sorry, actually that is all for today, thank you very much.');
  await reply;
}

/** A long call, driven cheaply: the bench's simulated SDK session (the real SDK's spans and events) past 1,024 replies. */
async function longCall(replies: number) {
  return readCall('long', async (voicetrace) => {
    const out = mkdtempSync(join(tmpdir(), 'voicetrace-parity-long-'));
    const sessionId = `sess_long_${process.pid}`;
    const tracesPath = join(out, 'traces.jsonl');
    const vt = setupVoiceTrace({ serviceName: 'voicetrace-parity', environment: 'test', file: tracesPath, handleSignals: false, traceMode: 'turn', ...voicetrace });
    const call = new SimulatedCall(vt.provider.getTracer('livekit-agents'), { maxMessages: 20 });
    // what the report's SDK fields read of an AgentSession (the stand-in has events only)
    Object.assign(call.session, { history: new llm.ChatContext(), sessionOptions: {}, usage: { modelUsage: [] } });
    const traced = vt.instrument(call.session as unknown as voice.AgentSession, { sessionId, userId: 'caller-42', attributes: { 'lk.job_id': 'parity-job' } });
    call.start();
    let seed = 7;
    const pause = () => new Promise((resolve) => setTimeout(resolve, (seed = (seed * 48271) % 2147483647) % 4));
    for (let i = 0; i < replies; i++) {
      for (const step of call.turn()) {
        step();
        await pause();
      }
    }
    call.end();
    const report = await traced.writeReport({ dir: out });
    const snapshot = traced.summary();
    await vt.shutdown();
    return { snapshot, reportPath: report.json!, tracesPath };
  });
}

beforeAll(async () => {
  langfuse = await startLangfuseContractServer(KEYS);
  calls.push(await demoCall('pipeline'));
  calls.push(await demoCall('realtime', { realtime: true }));
  calls.push(
    await demoCall('faults, trace per turn', {
      agent: { toolFails: true },
      // a slow model, so the caller's next words come before the reply's first audio
      plugins: { llm: { ttft: { minMs: 1200, maxMs: 1200 }, failRequests: [3] } },
      conversation: faultyConversation,
      voicetrace: { traceMode: 'turn' },
    }),
  );
  calls.push(await longCall(1_100));
}, 600_000);

afterAll(async () => {
  await langfuse?.close();
});

const near = (a: number | undefined, b: number | undefined, tolerance: number) => (a === undefined && b === undefined) || (a !== undefined && b !== undefined && Math.abs(a - b) <= tolerance);
/** A summary of no values is no summary: `{ count: 0 }` and absent read the same. */
const stat = (summary: { count: number } | undefined, q: string): number | undefined => (summary && summary.count > 0 ? (summary as unknown as Record<string, number>)[q] : undefined);

/** Fails with every output's value of a figure that is not the model's. */
function same(call: Outputs, figure: string, values: Record<string, number | undefined>, tolerance = 0): void {
  const [reference, ...others] = Object.entries(values);
  const off = others.filter(([, v]) => !(tolerance ? near(v, reference![1], tolerance) : v === reference![1]));
  expect.soft(off.length ? `${call.name}: ${figure}: ${reference![0]}=${reference![1]} but ${off.map(([k, v]) => `${k}=${v}`).join(', ')}` : 'same').toBe('same');
}

describe.each([0, 1, 2, 3])('parity across every output', (index) => {
  const call = () => calls[index]!;

  it(`call ${index}: the counts (user turns, replies, interruptions, cancelled replies, errors)`, () => {
    const c = call();
    const s = c.snapshot;
    same(c, 'user turns', { model: s.userTurns, report: c.live.user_turns, rebuilt: c.rebuilt.user_turns, span: c.span[ATTR.SESSION_TURNS] as number, summarizeReport: c.fromReport.user_turns, summarizeTraces: c.fromTraces.user_turns });
    same(c, 'replies', {
      model: s.replyCount,
      report: c.live.replies,
      rebuilt: c.rebuilt.replies,
      span: c.span[ATTR.SESSION_AGENT_TURNS] as number,
      metric: c.metrics.sum(METRIC.TURNS),
      summarizeReport: c.fromReport.replies,
      summarizeTraces: c.fromTraces.replies,
    });
    same(c, 'interruptions', {
      model: s.interruptions,
      report: c.live.interruptions,
      rebuilt: c.rebuilt.interruptions,
      span: c.span[ATTR.SESSION_INTERRUPTIONS] as number,
      metric: c.metrics.sum(METRIC.INTERRUPTIONS),
      summarizeReport: c.fromReport.interruptions.count,
      summarizeTraces: c.fromTraces.interruptions.count,
      langfuse: c.scores.filter((x) => x.name === LANGFUSE_SCORE_NAMES.turnInterrupted && x.value === 1).length,
    });
    same(c, 'cancelled replies', { model: s.cancelledReplies, report: c.live.cancelled_replies, rebuilt: c.rebuilt.cancelled_replies, span: c.span[ATTR.SESSION_CANCELLED_REPLIES] as number });
    same(c, 'errors', { model: s.errors, report: c.live.errors, rebuilt: c.rebuilt.errors, span: c.span[ATTR.SESSION_ERRORS] as number, metric: c.metrics.sum(METRIC.ERRORS) });
  });

  it(`call ${index}: the quality signals, per signal and per turn`, () => {
    const c = call();
    const span = JSON.parse(c.span[ATTR.SESSION_SIGNALS] as string) as { totals: Record<string, { count: number; seconds?: number }> };
    for (const { name } of SIGNALS) {
      const model = c.snapshot.signals[name];
      same(c, `${name} count`, {
        model: model?.count ?? 0,
        metric: c.metrics.sum(METRIC.SIGNALS, { [METRIC_ATTR.SIGNAL]: name }),
        langfuse: (c.scores.find((x) => x.name === `${LANGFUSE_SCORE_NAMES.sessionSignalPrefix}${name}`)?.value as number | undefined) ?? 0,
        report: c.live.signals?.[name]?.count ?? 0,
        rebuilt: c.rebuilt.signals?.[name]?.count ?? 0,
        span: span.totals[name]?.count ?? 0,
        summarizeReport: c.fromReport.signals[name]?.count ?? 0,
        summarizeTraces: c.fromTraces.signals[name]?.count ?? 0,
      });
      same(
        c,
        `${name} seconds`,
        {
          model: model?.seconds,
          metric: model?.seconds === undefined ? undefined : c.metrics.sum(METRIC.SIGNAL_SECONDS, { [METRIC_ATTR.SIGNAL]: name }),
          report: c.live.signals?.[name]?.seconds,
          rebuilt: c.rebuilt.signals?.[name]?.seconds,
          span: span.totals[name]?.seconds,
          summarizeReport: c.fromReport.signals[name]?.seconds,
          summarizeTraces: c.fromTraces.signals[name]?.seconds,
        },
        SECONDS,
      );
    }
    const perTurn = (v: SessionReportJson['voicetrace']) => v.turns.flatMap((t) => (t.signals ?? []).map((x) => `${t.index}:${x.name}`));
    expect(perTurn(c.rebuilt), c.name).toEqual(perTurn(c.live));
  });

  it(`call ${index}: the cost, in USD`, () => {
    const c = call();
    same(
      c,
      'cost',
      {
        model: c.snapshot.totalCost,
        report: c.live.cost,
        rebuilt: c.rebuilt.cost,
        span: c.span[ATTR.SESSION_COST] as number,
        metric: c.metrics.sum(METRIC.COST),
        summarizeReport: c.fromReport.cost.total,
        summarizeTraces: c.fromTraces.cost.total,
        langfuse: c.scores.find((x) => x.name === LANGFUSE_SCORE_NAMES.sessionCost)?.value as number,
        // the turns' costs add up to the session's (all turns retained)
        ...(c.live.turns_dropped ? {} : { turns: c.live.turns.reduce((n, t) => n + (t.cost ?? 0), 0) }),
      },
      USD,
    );
  });

  it(`call ${index}: the e2e wait: every percentile, the histogram, the LangFuse scores`, () => {
    const c = call();
    const model = c.snapshot.latency.e2e;
    for (const q of ['count', 'p50', 'p95', 'p99', 'max', 'mean'] as const) {
      same(c, `e2e ${q}`, { model: stat(model, q), report: stat(c.live.latency.e2e, q), rebuilt: stat(c.rebuilt.latency.e2e, q), summarizeReport: stat(c.fromReport.latency.e2e, q), summarizeTraces: stat(c.fromTraces.latency.e2e, q) }, SECONDS);
    }
    same(c, 'e2e p50 on the span', { model: model.p50, span: c.span[sessionLatencyKey('e2e', 'p50')] as number }, SECONDS);
    same(c, 'e2e p95', { model: model.p95, span: c.span[sessionLatencyKey('e2e', 'p95')] as number, langfuse: c.scores.find((x) => x.name === LANGFUSE_SCORE_NAMES.sessionP95Wait)?.value as number }, SECONDS);
    const histogram = c.metrics.histogram(METRIC.TURN_E2E_LATENCY);
    same(c, 'e2e count', { model: model.count, metric: histogram.count, langfuse: c.scores.filter((x) => x.name === LANGFUSE_SCORE_NAMES.turnE2e).length });
    same(c, 'e2e sum', { model: (model.mean ?? 0) * model.count, metric: histogram.sum, langfuse: c.scores.filter((x) => x.name === LANGFUSE_SCORE_NAMES.turnE2e).reduce((n, x) => n + (x.value as number), 0) }, SECONDS * Math.max(1, model.count));
  });

  it(`call ${index}: every latency stage and wait slice, per session`, () => {
    const c = call();
    for (const stage of SESSION_LATENCY_METRICS) {
      const model = c.snapshot.latency[stage];
      for (const q of ['count', 'p50', 'p95', 'p99', 'max', 'mean'] as const) {
        same(c, `${stage} ${q}`, { model: stat(model, q), report: stat(c.live.latency[stage], q), rebuilt: stat(c.rebuilt.latency[stage], q), summarizeReport: stat(c.fromReport.latency[stage], q), summarizeTraces: stat(c.fromTraces.latency[stage], q) }, SECONDS);
      }
    }
    for (const { key } of WAIT_CONTRIBUTIONS) {
      const model = c.snapshot.wait[key];
      for (const q of ['count', 'p50', 'p95', 'p99', 'max', 'mean'] as const) {
        same(c, `wait ${key} ${q}`, { model: stat(model, q), report: stat(c.live.wait[key], q), rebuilt: stat(c.rebuilt.wait[key], q), summarizeReport: stat(c.fromReport.wait[key], q), summarizeTraces: stat(c.fromTraces.wait[key], q) }, SECONDS);
      }
    }
  });

  it(`call ${index}: every retained turn and reply of report.json, rebuilt from its traces`, () => {
    const c = call();
    const rebuiltReplies = new Map(c.rebuilt.turns.flatMap((t) => t.replies.map((r) => [r.speech_id, r] as const)));
    const rebuiltTurns = new Map(c.rebuilt.turns.map((t) => [t.index, t]));
    for (const turn of c.live.turns) {
      const other = rebuiltTurns.get(turn.index);
      expect(other, `${c.name}: turn ${turn.index}`).toBeDefined();
      for (const key of ['speech_start', 'speech_end', 'transcription_delay', 'end_of_turn_delay'] as const) {
        same(c, `turn ${turn.index} user ${key}`, { report: turn.user?.[key], rebuilt: other!.user?.[key] }, SECONDS);
      }
      // the STT steps as the waterfall draws them: speech start to final transcript, with their latency and cost
      const stt = turn.user?.stt ?? [];
      expect((other!.user?.stt ?? []).length, `${c.name}: turn ${turn.index} stt steps`).toBe(stt.length);
      stt.forEach((step, i) => {
        const o = other!.user!.stt[i]!;
        for (const key of ['start', 'end', 'latency'] as const) same(c, `turn ${turn.index} stt[${i}] ${key}`, { report: step[key], rebuilt: o[key] }, SECONDS);
        same(c, `turn ${turn.index} stt[${i}] cost`, { report: step.cost, rebuilt: o.cost }, USD);
      });
      for (const reply of turn.replies) {
        const r = rebuiltReplies.get(reply.speech_id);
        expect(r, `${c.name}: reply ${reply.speech_id}`).toBeDefined();
        for (const key of ['e2e', 'llm_ttft', 'tts_ttfb', 'eou_delay', 'transcription_delay', 'on_user_turn_completed_delay', 'total'] as const) {
          same(c, `${reply.speech_id} ${key}`, { report: reply.latency?.[key], rebuilt: r!.latency?.[key] }, SECONDS);
        }
        same(c, `${reply.speech_id} first audio`, { report: reply.first_audio_at, rebuilt: r!.first_audio_at }, SECONDS);
        same(c, `${reply.speech_id} cost`, { report: reply.cost, rebuilt: r!.cost }, USD);
        same(c, `${reply.speech_id} interrupted`, { report: Number(reply.interrupted), rebuilt: Number(r!.interrupted) });
        expect(r!.wait.map((w) => [w.key, w.owner]), `${c.name}: ${reply.speech_id} wait slices`).toEqual(reply.wait.map((w) => [w.key, w.owner]));
        reply.wait.forEach((w, i) => same(c, `${reply.speech_id} wait ${w.key}`, { report: w.seconds, rebuilt: r!.wait[i]!.seconds }, SECONDS));
        for (const [kind, steps, others] of [['llm', reply.llm, r!.llm], ['tts', reply.tts, r!.tts]] as const) {
          expect(others.length, `${c.name}: ${reply.speech_id} ${kind} steps`).toBe(steps.length);
          steps.forEach((step, i) => {
            const o = others[i]! as Record<string, unknown>;
            const s = step as Record<string, unknown>;
            for (const key of ['request_start', 'first_token_at', 'text_sent_at', 'first_audio_at', 'cost'] as const) {
              if (key in s || key in o) same(c, `${reply.speech_id} ${kind}[${i}] ${key}`, { report: s[key] as number, rebuilt: o[key] as number }, key === 'cost' ? USD : SECONDS);
            }
          });
        }
      }
    }
  });
});

describe('the calls cover what the parity is about', () => {
  it('a barge-in, a realtime call, a cancelled reply, a failed tool and a provider error, trace per turn, past 1,024 replies', () => {
    const [pipeline, realtime, faults, long] = calls;
    expect(pipeline!.snapshot.interruptions).toBe(1);
    expect(realtime!.snapshot.turns.some((t) => t.replies.some((r) => r.realtime.length > 0))).toBe(true);
    expect(faults!.snapshot.cancelledReplies).toBeGreaterThanOrEqual(1);
    expect(faults!.snapshot.turns.some((t) => t.replies.some((r) => r.tools.some((x) => x.isError)))).toBe(true);
    expect(faults!.snapshot.turns.some((t) => t.errors.some((e) => /503/.test(e.message)))).toBe(true);
    expect(long!.snapshot.replyCount).toBeGreaterThan(1_024);
    expect(long!.live.turns_dropped).toBeGreaterThan(0);
    const table = calls.map(
      (c) =>
        `${c.name}: ${c.snapshot.userTurns} user turns, ${c.snapshot.replyCount} replies, ${c.snapshot.interruptions} interruptions, ${c.snapshot.cancelledReplies} cancelled, ${c.snapshot.errors} errors, $${c.snapshot.totalCost.toFixed(6)}, e2e p95 ${c.snapshot.latency.e2e.p95?.toFixed(4)} s; signals ${JSON.stringify(c.snapshot.signals)}`,
    );
    console.info(`[parity]\n${table.join('\n')}`);
  });
});
