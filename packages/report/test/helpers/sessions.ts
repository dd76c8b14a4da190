import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { percentiles } from '../../src/stats.js';
import type { ReportReply, SessionReportJson } from '../../src/types.js';

export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
export const DEMO_REPORT_PATH = join(FIXTURES, 'demo-report.json');
export const DEMO_TRACES_PATH = join(FIXTURES, 'demo-traces.jsonl');

export function demoReport(): SessionReportJson {
  return JSON.parse(readFileSync(DEMO_REPORT_PATH, 'utf8')) as SessionReportJson;
}

/** A small deterministic PRNG (mulberry32), so generated sets are the same on every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface PerturbOptions {
  /** Session id (and a derived trace id). */
  id: string;
  /** Random source for the per-reply jitter (none: the fixture's own numbers). */
  random?: () => number;
  /** Relative jitter of every figure (default 0.15: ×0.85..1.15). */
  jitter?: number;
  /** LLM slowdown: LLM TTFT (figures and wait slices, tool steps included) × this. */
  llm?: number;
}

const hex = (n: number, width: number) => (n >>> 0).toString(16).padStart(8, '0').repeat(Math.ceil(width / 8)).slice(0, width);

/**
 * A copy of the demo report as another session: new ids, every reply's figures scaled by a
 * random factor (and LLM time by `llm`), kept consistent (wait slices still sum to e2e, total =
 * eou + ttft + ttfb) and the session's percentiles recomputed from its replies.
 */
export function perturbedReport(base: SessionReportJson, options: PerturbOptions): SessionReportJson {
  const report = structuredClone(base);
  const v = report.voicetrace;
  const random = options.random;
  const jitter = options.jitter ?? 0.15;
  const llm = options.llm ?? 1;
  const idHash = [...options.id].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 16777619), 2166136261);
  const traceId = hex(idHash, 32);
  v.session_id = options.id;
  v.trace.trace_id = traceId;
  for (const name of Object.keys(v.trace.links)) v.trace.links[name] = `http://localhost:16686/trace/${traceId}`;
  let cost = 0;
  for (const turn of v.turns) {
    if (turn.user?.trace) turn.user.trace.trace_id = traceId;
    for (const reply of turn.replies) {
      const f = random ? 1 - jitter + 2 * jitter * random() : 1;
      scaleReply(reply, f, llm);
      if (reply.trace) reply.trace.trace_id = traceId;
      reply.cost *= f;
      cost += reply.cost;
    }
  }
  const costFactor = cost / (base.voicetrace.turns.flatMap((t) => t.replies).reduce((n, r) => n + r.cost, 0) || 1);
  for (const u of v.usage) if (typeof u.cost === 'number') u.cost *= costFactor;
  v.cost = v.usage.reduce((n, u) => n + (u.cost ?? 0), 0);
  const replies = v.turns.flatMap((t) => t.replies);
  v.latency = {};
  for (const key of ['e2e', 'eou_delay', 'transcription_delay', 'on_user_turn_completed_delay', 'llm_ttft', 'tts_ttfb', 'total'] as const) {
    const values = replies.map((r) => r.latency?.[key]).filter((x): x is number => x !== undefined);
    if (values.length) v.latency[key] = percentiles(values);
  }
  v.wait = {};
  const byKey = new Map<string, number[]>();
  for (const r of replies) for (const s of r.wait) byKey.set(s.key, [...(byKey.get(s.key) ?? []), s.seconds]);
  for (const [key, values] of byKey) v.wait[key] = percentiles(values);
  return report;
}

function scaleReply(reply: ReportReply, f: number, llm: number): void {
  const l = reply.latency;
  if (!l) return;
  let added = 0;
  for (const slice of reply.wait) {
    const before = slice.seconds;
    slice.seconds = before * f * (slice.owner === 'provider:llm' ? llm : 1);
    added += slice.seconds - before;
  }
  const ttftBefore = l.llm_ttft;
  for (const key of ['transcription_delay', 'eou_delay', 'on_user_turn_completed_delay', 'tts_ttfb'] as const) if (l[key] !== undefined) l[key] = l[key]! * f;
  if (l.llm_ttft !== undefined) l.llm_ttft = l.llm_ttft * f * llm;
  if (l.total !== undefined) l.total = (l.eou_delay ?? 0) + (l.llm_ttft ?? 0) + (l.tts_ttfb ?? 0);
  if (l.e2e !== undefined) l.e2e = reply.wait.length ? reply.wait.reduce((n, s) => n + s.seconds, 0) : l.e2e + added;
  for (const step of reply.llm) if (step.ttft !== undefined && ttftBefore !== undefined) step.ttft = step.ttft * f * llm;
}

export interface SetOptions {
  count: number;
  seed: number;
  llm?: number;
  /** Pretty-print like the agent does (default: compact, to keep 10,000 sessions small). */
  pretty?: boolean;
  /** Prefix of session ids (default `sess`). */
  prefix?: string;
}

/** Writes `count` sessions as `<dir>/<session id>/report.json`; returns their reports' paths. */
export function writeSessionSet(dir: string, options: SetOptions): string[] {
  const base = demoReport();
  const random = rng(options.seed);
  const paths: string[] = [];
  for (let i = 0; i < options.count; i++) {
    const id = `${options.prefix ?? 'sess'}_${options.seed}_${String(i).padStart(5, '0')}`;
    const report = perturbedReport(base, { id, random, ...(options.llm !== undefined ? { llm: options.llm } : {}) });
    const sessionDir = join(dir, id);
    mkdirSync(sessionDir, { recursive: true });
    const path = join(sessionDir, 'report.json');
    writeFileSync(path, options.pretty ? JSON.stringify(report, null, 2) : JSON.stringify(report));
    paths.push(path);
  }
  return paths;
}

/** Collects what the CLI writes. */
export function memoryIo(options: { tty?: boolean; cwd?: string } = {}) {
  let out = '';
  let err = '';
  return {
    io: {
      stdout: { write: (s: string) => ((out += s), true), isTTY: false },
      stderr: { write: (s: string) => ((err += s), true), isTTY: options.tty ?? false, columns: 100 },
      ...(options.cwd ? { cwd: options.cwd } : {}),
      env: {},
    },
    get out() {
      return out;
    },
    get err() {
      return err;
    },
  };
}
