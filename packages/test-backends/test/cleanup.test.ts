// No server outlives its test process, even when that process is SIGKILLed (no exit hook runs):
// the harness's detached watchdog notices the closed pipe and kills the process groups.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { backendOrSkip } from '../src/index.js';

const collector = await backendOrSkip('collector');
const livekit = await backendOrSkip('livekit');
const s3 = await backendOrSkip('s3');
const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** dist/index.js, (re)built when missing or older than a source file (the child process imports it). */
function distEntry(): string {
  const dist = join(pkgDir, 'dist', 'index.js');
  const srcDir = join(pkgDir, 'src');
  const newest = Math.max(...readdirSync(srcDir).map((f) => statSync(join(srcDir, f)).mtimeMs));
  if (!existsSync(dist) || statSync(dist).mtimeMs < newest) {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    execFileSync(process.execPath, [tsc, '-p', join(pkgDir, 'tsconfig.json')]);
  }
  return dist;
}

type Started = Record<string, { pid: number; workDir: string }>;

/** Runs `body` (module code using the harness's exports) in a child process that prints `started` as JSON and then idles. */
async function startInChild(imports: string, body: string): Promise<{ child: ReturnType<typeof spawn>; started: Started }> {
  const script = `
    import { ${imports} } from ${JSON.stringify(pathToFileURL(distEntry()).href)};
    const started = {};
    ${body}
    console.log(JSON.stringify(started));
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const started = await new Promise<Started>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line) as Started);
    });
    child.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
  });
  return { child, started };
}

async function expectAllGoneAfterSigkill(child: ReturnType<typeof spawn>, started: Started): Promise<void> {
  for (const [name, { pid }] of Object.entries(started)) expect(alive(pid), `${name} ${pid} is running`).toBe(true);
  child.kill('SIGKILL');
  const deadline = Date.now() + 15_000;
  for (const [name, { pid, workDir }] of Object.entries(started)) {
    while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(alive(pid), `${name} ${pid} survived its test process`).toBe(false);
    // The watchdog also removes the session's temporary directory.
    while (existsSync(workDir) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(workDir), `${name}'s ${workDir} was left behind`).toBe(false);
  }
}

describe('process cleanup', () => {
  it.skipIf(!collector)('kills the servers of a test process that was SIGKILLed', async () => {
    const { child, started } = await startInChild('startCollector', `
      const c = await startCollector();
      started.collector = { pid: c.pid, workDir: c.workDir };`);
    await expectAllGoneAfterSigkill(child, started);
  }, 40_000);

  it.skipIf(!livekit || !s3)('leaves no livekit-server or gofakes3 behind a SIGKILLed test process', async () => {
    const { child, started } = await startInChild('startLivekitServer, startS3', `
      const [lk, s3] = await Promise.all([startLivekitServer(), startS3({ backend: 'fs' })]);
      started['livekit-server'] = { pid: lk.pid, workDir: lk.workDir };
      started.gofakes3 = { pid: s3.pid, workDir: s3.workDir };`);
    await expectAllGoneAfterSigkill(child, started);
  }, 40_000);
});
