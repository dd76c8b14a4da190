// No server outlives its test process, even when that process is SIGKILLed (no exit hook runs):
// the harness's detached watchdog notices the closed pipe and kills the process groups.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { backendOrSkip } from '../src/index.js';

const collector = await backendOrSkip('collector');
const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!collector)('process cleanup', () => {
  it('kills the servers of a test process that was SIGKILLed', async () => {
    const dist = join(pkgDir, 'dist', 'index.js');
    if (!existsSync(dist)) {
      const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
      execFileSync(process.execPath, [tsc, '-p', join(pkgDir, 'tsconfig.json')]);
    }
    const script = `
      import { startCollector } from ${JSON.stringify(pathToFileURL(dist).href)};
      const c = await startCollector();
      console.log(JSON.stringify({ pid: c.pid, workDir: c.workDir }));
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const info = await new Promise<{ pid: number; workDir: string }>((resolve, reject) => {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line) resolve(JSON.parse(line));
      });
      child.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
    });
    expect(alive(info.pid)).toBe(true);
    child.kill('SIGKILL');
    const deadline = Date.now() + 15_000;
    while (alive(info.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(alive(info.pid), `collector ${info.pid} survived its test process`).toBe(false);
    // The watchdog also removes the session's temporary directory.
    while (existsSync(info.workDir) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(info.workDir)).toBe(false);
  }, 40_000);
});
