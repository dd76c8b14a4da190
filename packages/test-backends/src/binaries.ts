import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './paths.js';
import type { BackendName, BinaryResult } from './types.js';

/** Why Tempo is never available here (reported by ensureBinary('tempo') and in skip messages). */
export const TEMPO_UNAVAILABLE_REASON =
  'Grafana Tempo cannot be built on this machine: the Go module proxy refuses github.com/grafana/tempo ' +
  '(AGPL-3.0) and there is no other source, so no Tempo binary exists. Tempo stays configured for users ' +
  '(collector-config/overlays/tempo.yaml, docker/).';

const SCRIPTS: Record<Exclude<BackendName, 'tempo'>, { script: string; override: string }> = {
  collector: { script: 'scripts/build-collector.sh', override: 'VOICETRACE_OTELCOL' },
  jaeger: { script: 'scripts/build-jaeger.sh', override: 'VOICETRACE_JAEGER' },
  prometheus: { script: 'scripts/install-prometheus.sh', override: 'VOICETRACE_PROMETHEUS' },
};

const memo = new Map<BackendName, Promise<BinaryResult>>();

export interface EnsureBinaryOptions {
  /** Build timeout in ms (default 20 min: a cold Collector or Jaeger build takes minutes). */
  timeoutMs?: number;
}

/**
 * Returns the path of a backend's binary, building or installing it once (cached outside the
 * repo by the scripts, memoized in this process), or why it is unavailable. Never throws.
 * `VOICETRACE_OTELCOL` / `VOICETRACE_JAEGER` / `VOICETRACE_PROMETHEUS` may point at binaries to use instead.
 */
export function ensureBinary(name: BackendName, opts: EnsureBinaryOptions = {}): Promise<BinaryResult> {
  let p = memo.get(name);
  if (!p) {
    p = resolveBinary(name, opts.timeoutMs ?? 20 * 60_000);
    memo.set(name, p);
  }
  return p;
}

/** Like ensureBinary, but throws with the reason when unavailable. */
export async function requireBinary(name: BackendName): Promise<string> {
  const r = await ensureBinary(name);
  if (!r.available) throw new Error(`test-backends: ${name} is unavailable: ${r.reason}`);
  return r.path;
}

async function resolveBinary(name: BackendName, timeoutMs: number): Promise<BinaryResult> {
  if (name === 'tempo') return { name, available: false, permanent: true, reason: TEMPO_UNAVAILABLE_REASON };
  const { script, override } = SCRIPTS[name];
  const preset = process.env[override];
  if (preset) {
    return existsSync(preset)
      ? { name, available: true, path: preset }
      : { name, available: false, permanent: false, reason: `${override}=${preset} does not exist` };
  }
  const scriptPath = join(repoRoot(), script);
  const { code, stdout, stderr, timedOut } = await run('bash', [scriptPath], timeoutMs, name);
  const path = stdout.trim().split('\n').pop()?.trim() ?? '';
  if (code === 0 && path && existsSync(path)) return { name, available: true, path };
  const tail = stderr.trim().split('\n').slice(-15).join('\n');
  const why = timedOut ? `timed out after ${timeoutMs} ms` : code === 3 ? 'a required tool is missing' : `exit code ${code}`;
  return { name, available: false, permanent: false, reason: `${script} failed (${why}):\n${tail}` };
}

function run(cmd: string, args: string[], timeoutMs: number, name: string): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    // Cached binaries answer in milliseconds; say so when a real build is under way.
    const notice = setTimeout(() => {
      console.warn(`[test-backends] obtaining ${name} (first run builds it, which takes minutes; cached afterwards)...`);
    }, 3000);
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs);
    child.on('error', (err) => { stderr += String(err); });
    child.on('close', (code) => {
      clearTimeout(timer);
      clearTimeout(notice);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}
