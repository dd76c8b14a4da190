import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProcessHandle } from './types.js';

// ---------------------------------------------------------------------------------------------
// Global registry: every process group the harness starts is killed when this process ends,
// however it ends. Normal exit: a synchronous 'exit' handler SIGKILLs the groups. Crash,
// SIGKILL of the test worker, Ctrl-C: a small detached watchdog process holds the read end of a
// pipe from us; when the pipe closes (we died), it kills every group we registered with it.
// ---------------------------------------------------------------------------------------------

const liveGroups = new Set<number>();
let watchdog: ChildProcess | undefined;
let exitHookInstalled = false;
let sessionDir: string | undefined;

const WATCHDOG_SOURCE = `
const groups = new Set();
let dir = '';
let buf = '';
const kill = (sig) => { for (const g of groups) { try { process.kill(-g, sig); } catch {} } };
const done = () => {
  if (dir) { try { require('node:fs').rmSync(dir, { recursive: true, force: true }); } catch {} }
  process.exit(0);
};
const cleanup = () => {
  if (groups.size === 0) return done();
  kill('SIGTERM');
  setTimeout(() => { kill('SIGKILL'); done(); }, 3000);
};
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf('\\n')) >= 0) {
    const line = buf.slice(0, i);
    const sp = line.indexOf(' ');
    const op = line.slice(0, sp);
    const id = line.slice(sp + 1);
    buf = buf.slice(i + 1);
    if (op === 'add') groups.add(Number(id)); else if (op === 'del') groups.delete(Number(id)); else if (op === 'dir') dir = id;
  }
});
process.stdin.on('end', cleanup);
process.stdin.on('error', cleanup);
`;

function tellWatchdog(line: string): void {
  try {
    if (!watchdog) {
      watchdog = spawn(process.execPath, ['-e', WATCHDOG_SOURCE], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
      watchdog.on('error', () => { watchdog = undefined; });
      watchdog.unref();
      (watchdog.stdin as unknown as Socket | null)?.unref?.();
    }
    watchdog.stdin?.write(`${line}\n`);
  } catch {
    // The exit hook still covers normal exits.
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pgid of liveGroups) {
      try { process.kill(-pgid, 'SIGKILL'); } catch { /* already gone */ }
    }
    if (sessionDir && !process.env.VOICETRACE_KEEP_LOGS) {
      try { rmSync(sessionDir, { recursive: true, force: true }); } catch { /* best effort */ }
    }
  });
}

function registerGroup(pgid: number): void {
  installExitHook();
  liveGroups.add(pgid);
  tellWatchdog(`add ${pgid}`);
}

function unregisterGroup(pgid: number): void {
  liveGroups.delete(pgid);
  tellWatchdog(`del ${pgid}`);
}

/** Stops every process the harness started in this process (e.g. from a global teardown). */
export async function stopAll(): Promise<void> {
  await Promise.all([...allHandles].map((h) => h.stop()));
}

const allHandles = new Set<ManagedProcess>();

/** A fresh directory for one backend instance, under this process's session directory (removed at exit unless VOICETRACE_KEEP_LOGS is set). */
export function makeWorkDir(kind: string): string {
  if (!sessionDir) {
    const base = join(tmpdir(), 'voicetrace-test-backends');
    mkdirSync(base, { recursive: true });
    sessionDir = mkdtempSync(join(base, `${process.pid}-`));
    installExitHook();
    // The watchdog removes it if we die before our exit hook runs.
    if (!process.env.VOICETRACE_KEEP_LOGS) tellWatchdog(`dir ${sessionDir}`);
  }
  return mkdtempSync(join(sessionDir, `${kind}-`));
}

/** `n` distinct free TCP ports on 127.0.0.1 (held open together while choosing, so they differ). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<import('node:net').Server>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as import('node:net').AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** GET a URL with a short timeout; resolves to the status, or 0 when unreachable. */
export async function httpStatus(url: string, timeoutMs = 1000): Promise<number> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

export interface SpawnSpec {
  label: string;
  command: string;
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  workDir: string;
  /** Resolves true once the server is ready. Polled every 100 ms. */
  isReady: () => Promise<boolean>;
  readyTimeoutMs: number;
  /** Grace period between SIGTERM and SIGKILL (default 10 s). */
  stopGraceMs?: number;
}

let counter = 0;

/** Builds an environment without the caller's voicetrace/LangFuse/OTel variables, so tests are hermetic. */
export function hermeticEnv(extra: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(VOICETRACE_|LANGFUSE_|OTEL_)/.test(k)) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

export class ManagedProcess implements ProcessHandle {
  readonly label: string;
  readonly logFile: string;
  readonly workDir: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private exitInfo: string | undefined;

  constructor(private readonly spec: SpawnSpec) {
    this.label = `${spec.label}#${++counter}`;
    this.workDir = spec.workDir;
    this.logFile = join(spec.workDir, `${spec.label}.log`);
  }

  get pid(): number | undefined {
    return this.exitInfo === undefined ? this.child?.pid : undefined;
  }

  /** Spawns the process in its own process group and waits until it is ready. */
  async start(): Promise<void> {
    if (this.pid !== undefined) return;
    const fd = openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(this.spec.command, [...this.spec.args], {
        cwd: this.spec.workDir,
        env: this.spec.env,
        detached: true, // own process group: stop() signals the whole group
        stdio: ['ignore', fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    this.child = child;
    this.exitInfo = undefined;
    const spawned = new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = signal ? `signal ${signal}` : `code ${code}`;
        if (child.pid) unregisterGroup(child.pid);
        resolve();
      });
      child.once('error', (err) => {
        this.exitInfo = `spawn error: ${err.message}`;
        resolve();
      });
    });
    try {
      await spawned;
    } catch (err) {
      throw new Error(`${this.label}: cannot start ${this.spec.command}: ${(err as Error).message}`);
    }
    registerGroup(child.pid!);
    allHandles.add(this);

    const deadline = Date.now() + this.spec.readyTimeoutMs;
    for (;;) {
      if (this.exitInfo !== undefined) {
        throw new Error(`${this.label} exited during startup (${this.exitInfo}). Log ${this.logFile}:\n${this.logTail(30)}`);
      }
      if (await this.spec.isReady().catch(() => false)) return;
      if (Date.now() > deadline) {
        const tail = this.logTail(30);
        await this.stop();
        throw new Error(`${this.label} not ready after ${this.spec.readyTimeoutMs} ms. Log ${this.logFile}:\n${tail}`);
      }
      await sleep(100);
    }
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child?.pid || !this.exited) return;
    const pgid = child.pid;
    if (this.exitInfo === undefined) {
      try { process.kill(-pgid, 'SIGTERM'); } catch { /* gone */ }
      const grace = this.spec.stopGraceMs ?? 10_000;
      const timedOut = await Promise.race([this.exited.then(() => false), sleep(grace).then(() => true)]);
      if (timedOut) {
        try { process.kill(-pgid, 'SIGKILL'); } catch { /* gone */ }
        await this.exited;
      }
    }
    // The leader is gone; make sure no other member of its group survives it.
    try { process.kill(-pgid, 'SIGKILL'); } catch { /* empty group */ }
    unregisterGroup(pgid);
    allHandles.delete(this);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Sends `signal` (default SIGKILL: a crash, no graceful shutdown) to the process group and waits until the leader has exited. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child?.pid || !this.exited || this.exitInfo !== undefined) return;
    const pgid = child.pid;
    try { process.kill(-pgid, signal); } catch { /* gone */ }
    await this.exited;
    try { process.kill(-pgid, 'SIGKILL'); } catch { /* empty group */ }
    unregisterGroup(pgid);
    allHandles.delete(this);
  }

  logTail(lines = 20): string {
    if (!existsSync(this.logFile)) return '';
    return readFileSync(this.logFile, 'utf8').split('\n').slice(-lines - 1).join('\n');
  }
}
