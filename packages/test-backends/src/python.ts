import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { formatDuration } from './binaries.js';
import { isCI } from './skip.js';

/** A virtual environment with a requirements file installed, or why there is none. */
export type PythonEnvResult =
  | { readonly available: true; readonly python: string; readonly venv: string }
  | { readonly available: false; readonly reason: string };

/** The interpreter the harness looks for: `VOICETRACE_PYTHON`, else python3.11, else python3 when it is 3.11 or later. */
const CANDIDATES = ['python3.11', 'python3.12', 'python3.13', 'python3'];

const memo = new Map<string, Promise<PythonEnvResult>>();

function report(line: string): void {
  process.stderr.write(`[test-backends] ${line}\n`);
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    let out = '';
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.on('error', (err) => { out += String(err); });
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, out }); });
  });
}

/** The first interpreter that is Python 3.11+ and has venv and pip, or why none is. */
async function findInterpreter(): Promise<{ path: string; version: string } | { reason: string }> {
  const preset = process.env.VOICETRACE_PYTHON;
  const tried: string[] = [];
  for (const candidate of preset ? [preset] : CANDIDATES) {
    const probe = await run(candidate, ['-c', 'import sys, venv, ensurepip; print("%d.%d" % sys.version_info[:2]); print(sys.executable)'], 30_000);
    const [version, executable] = probe.out.trim().split('\n');
    if (probe.code !== 0 || !version || !executable) {
      tried.push(`${candidate}: ${probe.out.trim().split('\n').pop() || `exit ${probe.code}`}`);
      continue;
    }
    const [major, minor] = version.split('.').map(Number);
    if (major === 3 && (minor ?? 0) >= 11) return { path: executable, version };
    tried.push(`${candidate}: Python ${version} (3.11 or later needed)`);
  }
  return { reason: `no Python 3.11+ with venv and pip found (${tried.join('; ')}); set VOICETRACE_PYTHON or install python3.11 and python3.11-venv` };
}

/**
 * A virtual environment with `requirementsFile` installed (pinned versions), created once per
 * requirements content and interpreter version under `${VOICETRACE_CACHE:-~/.cache/voicetrace}/python/<hash>`,
 * outside the repository, and reused afterwards (a marker file says the install finished). Never throws.
 */
export function ensurePythonEnv(requirementsFile: string, opts: { timeoutMs?: number } = {}): Promise<PythonEnvResult> {
  let p = memo.get(requirementsFile);
  if (!p) {
    p = createEnv(requirementsFile, opts.timeoutMs ?? 10 * 60_000);
    memo.set(requirementsFile, p);
  }
  return p;
}

async function createEnv(requirementsFile: string, timeoutMs: number): Promise<PythonEnvResult> {
  const started = performance.now();
  const interpreter = await findInterpreter();
  if ('reason' in interpreter) {
    report(`python unavailable: ${interpreter.reason}`);
    return { available: false, reason: interpreter.reason };
  }
  const requirements = readFileSync(requirementsFile, 'utf8');
  const key = createHash('sha256').update(`${interpreter.version}\n${requirements}`).digest('hex').slice(0, 12);
  const root = join(process.env.VOICETRACE_CACHE ?? join(homedir(), '.cache', 'voicetrace'), 'python');
  const venv = join(root, key);
  const python = join(venv, 'bin', 'python');
  const marker = join(venv, '.voicetrace-installed');
  if (existsSync(marker)) {
    report(`python venv cached (${formatDuration(performance.now() - started)}, ${venv})`);
    return { available: true, python, venv };
  }
  mkdirSync(root, { recursive: true });
  // one installer at a time (test files run in parallel processes): flock on a lock file
  const script = [
    'set -e',
    `exec 9>"${venv}.lock"`,
    'flock 9',
    `[ -f "${marker}" ] && exit 0`,
    `rm -rf "${venv}"`,
    `"${interpreter.path}" -m venv "${venv}"`,
    `"${python}" -m pip install --quiet --disable-pip-version-check -r "${requirementsFile}"`,
    // the marker is written under the lock, so a waiting installer finds the venv complete
    `date -u +%FT%TZ > "${marker}"`,
  ].join('\n');
  report(`creating python venv ${venv} (Python ${interpreter.version}; pip install takes about a minute, once)`);
  const { code, out } = await run('bash', ['-c', script], timeoutMs);
  if (code !== 0) {
    rmSync(venv, { recursive: true, force: true });
    const reason = `pip install -r ${requirementsFile} failed (exit ${code}):\n${out.trim().split('\n').slice(-15).join('\n')}`;
    report(`python venv unavailable after ${formatDuration(performance.now() - started)}`);
    return { available: false, reason };
  }
  report(`python venv ready in ${formatDuration(performance.now() - started)} (${venv})`);
  return { available: true, python, venv };
}

/**
 * The venv's interpreter for a test file, or undefined with a loud banner on a user's machine;
 * under `CI=true` a missing Python (or a failed install) throws, so the test file fails.
 *
 *   const python = await pythonOrSkip(REQUIREMENTS_PATH);
 *   describe.skipIf(!python)('a real Python AgentSession', () => { ... });
 */
export async function pythonOrSkip(requirementsFile: string): Promise<string | undefined> {
  const env = await ensurePythonEnv(requirementsFile);
  if (env.available) return env.python;
  if (isCI()) throw new Error(`[test-backends] Python is unavailable under CI=true, failing instead of skipping: ${env.reason}`);
  const bar = '='.repeat(78);
  console.warn(
    ['', bar, '  SKIPPING tests that need PYTHON (a venv with the pinned livekit-agents): it is unavailable.', ...env.reason.split('\n').map((l) => `  ${l}`), '  Under CI=true this is a failure.', bar, ''].join('\n'),
  );
  return undefined;
}
