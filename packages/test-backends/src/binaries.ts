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

const SCRIPTS: Record<Exclude<BackendName, 'tempo'>, { script: string; override: string; binary: string; verb: 'built' | 'installed' }> = {
  collector: { script: 'scripts/build-collector.sh', override: 'VOICETRACE_OTELCOL', binary: 'otelcol-voicetrace', verb: 'built' },
  jaeger: { script: 'scripts/build-jaeger.sh', override: 'VOICETRACE_JAEGER', binary: 'jaeger', verb: 'built' },
  prometheus: { script: 'scripts/install-prometheus.sh', override: 'VOICETRACE_PROMETHEUS', binary: 'prometheus', verb: 'installed' },
  livekit: { script: 'scripts/build-livekit-server.sh', override: 'VOICETRACE_LIVEKIT_SERVER', binary: 'livekit-server', verb: 'built' },
  s3: { script: 'scripts/build-gofakes3.sh', override: 'VOICETRACE_GOFAKES3', binary: 'gofakes3', verb: 'built' },
  speech: { script: 'scripts/install-speech-tools.sh', override: 'VOICETRACE_ESPEAK_NG', binary: 'espeak-ng + sox', verb: 'installed' },
  chromium: { script: 'scripts/install-chromium.sh', override: 'VOICETRACE_CHROMIUM', binary: 'chromium', verb: 'installed' },
};

/**
 * Flags for launching the `chromium` backend headless from tests (playwright-core's
 * `chromium.launch({ executablePath, args: CHROMIUM_HEADLESS_ARGS })`): no sandbox (containers,
 * root), no GPU, and none of the browser's own background traffic (QUIC probes, component and
 * sync updates), so a test that asserts "no network request" sees only the page's own.
 */
export const CHROMIUM_HEADLESS_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** `0.01 s`, `12.3 s`, `3m58s`. */
export function formatDuration(ms: number): string {
  if (ms < 10_000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** One line per backend on stderr (not console: CI logs keep it even when test output is silenced). */
function report(line: string): void {
  process.stderr.write(`[test-backends] ${line}\n`);
}

const memo = new Map<BackendName, Promise<BinaryResult>>();

export interface EnsureBinaryOptions {
  /** Build timeout in ms (default 20 min: a cold Collector or Jaeger build takes minutes). */
  timeoutMs?: number;
}

/**
 * Returns the path of a backend's binary, building or installing it once (cached outside the
 * repo by the scripts, memoized in this process), or why it is unavailable. Never throws.
 * `VOICETRACE_OTELCOL` / `VOICETRACE_JAEGER` / `VOICETRACE_PROMETHEUS` / `VOICETRACE_LIVEKIT_SERVER` /
 * `VOICETRACE_GOFAKES3` / `VOICETRACE_ESPEAK_NG` / `VOICETRACE_CHROMIUM` may point at binaries to use instead.
 * Prints to stderr how long obtaining each backend took (`built livekit-server in 3m58s`,
 * `livekit-server cached (0.01 s)`), once per backend and process, so CI logs show every build's time.
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
  if (name === 'tempo') {
    report('tempo unavailable: it cannot be built on this machine (see TEMPO_UNAVAILABLE_REASON)');
    return { name, available: false, permanent: true, reason: TEMPO_UNAVAILABLE_REASON };
  }
  const { script, override, binary, verb } = SCRIPTS[name];
  const started = performance.now();
  const took = (): string => formatDuration(performance.now() - started);
  const preset = process.env[override];
  if (preset) {
    if (existsSync(preset)) {
      report(`${binary} from ${override}=${preset} (${took()})`);
      return { name, available: true, path: preset };
    }
    report(`${binary} unavailable: ${override}=${preset} does not exist`);
    return { name, available: false, permanent: false, reason: `${override}=${preset} does not exist` };
  }
  const scriptPath = join(repoRoot(), script);
  const { code, stdout, stderr, timedOut } = await run('bash', [scriptPath], timeoutMs, name);
  const path = stdout.trim().split('\n').pop()?.trim() ?? '';
  if (code === 0 && path && existsSync(path)) {
    // The scripts print to stderr only when they actually build or install (a cache hit is silent).
    const ms = performance.now() - started;
    if (stderr.trim()) report(`${verb} ${binary} in ${took()} (${path})`);
    else report(`${binary} cached (${took()}${ms > 5000 ? ', waited for a build by another process' : ''})`);
    return { name, available: true, path };
  }
  const tail = stderr.trim().split('\n').slice(-15).join('\n');
  const why = timedOut ? `timed out after ${timeoutMs} ms` : code === 3 ? 'a required tool is missing' : `exit code ${code}`;
  report(`${binary} unavailable after ${took()}: ${script} failed (${why})`);
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
