import { readFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

/** A V8 CPU profile (`.cpuprofile`, as `node --cpu-prof` or the inspector writes it). */
export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }>;
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** One line of a profile summary: self time of a function or a module. */
export interface ProfileEntry {
  name: string;
  /** Share of the profile's samples (idle excluded), 0..1. */
  share: number;
  /** Self time, ms. */
  ms: number;
}

/** Starts the V8 profiler in this process (the same profiler as `node --cpu-prof`); the returned function stops it. */
export async function startProfiling(): Promise<() => Promise<CpuProfile>> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    return profile as unknown as CpuProfile;
  };
}

export function readProfile(path: string): CpuProfile {
  return JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
}

/** Where a frame's code lives: `@voicetrace/core`, `@opentelemetry/otlp-transformer`, `node:internal`, `(gc)`... */
export function moduleOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const pnpm = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)/.exec(url);
  if (pnpm) return pnpm[1]!;
  const workspace = /\/(packages|examples)\/([^/]+)\//.exec(url);
  if (workspace) return workspace[1] === 'packages' ? `@voicetrace/${workspace[2]}` : `examples/${workspace[2]}`;
  if (url.startsWith('node:')) return 'node:internal';
  return url;
}

/** A profile's top entries, by function and by module, and the time it sampled. */
export interface ProfileSummary {
  functions: ProfileEntry[];
  modules: ProfileEntry[];
  totalMs: number;
}

/** Self time by function and by module, highest first (idle and `(program)` left out of the shares). */
export function summarizeProfile(profile: CpuProfile, top = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0));
  }
  const functions = new Map<string, number>();
  const modules = new Map<string, number>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)' || frame.functionName === '(program)') continue;
    total += us;
    const file = frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : '';
    const key = `${frame.functionName || '(anonymous)'}${file ? ` ${file}` : ''}`;
    functions.set(key, (functions.get(key) ?? 0) + us);
    const module = moduleOf(frame.url, frame.functionName);
    modules.set(module, (modules.get(module) ?? 0) + us);
  }
  const rank = (map: Map<string, number>): ProfileEntry[] =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, share: total ? us / total : 0 }));
  return { functions: rank(functions), modules: rank(modules), totalMs: total / 1000 };
}

function shortUrl(url: string): string {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules\/)(.*)$/.exec(url);
  if (m) return `${m[1]}/${m[2]}`;
  const w = /\/((?:packages|examples)\/.*)$/.exec(url);
  if (w) return w[1]!;
  return url.replace(/^file:\/\//, '');
}
