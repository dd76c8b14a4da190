// Helpers of packaging.test.ts: the workspace's packages, tarballs, README snippets, an npm project.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const fixturesDir = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
export const cacheRoot = join(process.env.VOICETRACE_CACHE || join(homedir(), '.cache', 'voicetrace'), 'packaging');

export interface PackageJson {
  name: string;
  version: string;
  private?: boolean;
  type?: string;
  main?: string;
  module?: string;
  types?: string;
  files?: string[];
  engines?: Record<string, string>;
  exports?: Record<string, unknown>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

export interface WorkspacePackage {
  dir: string;
  pkg: PackageJson;
}

/** Every package of the workspace (`packages/*`, `examples/*`), publishable or not. */
export function workspacePackages(): WorkspacePackage[] {
  return ['packages', 'examples'].flatMap((group) =>
    readdirSync(join(repoRoot, group), { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && existsSync(join(repoRoot, group, entry.name, 'package.json')))
      .map((entry) => {
        const dir = join(repoRoot, group, entry.name);
        return { dir, pkg: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson };
      }),
  );
}

/**
 * The import specifiers (`'.'`, `'./testing'`) a package exports as modules for both module systems
 * (JSON, package.json and `--import` hooks excluded).
 */
export function moduleEntries(pkg: PackageJson): string[] {
  return Object.entries(pkg.exports ?? {})
    .filter(([key, value]) => key !== './package.json' && typeof value === 'object' && !isImportHook(value))
    .map(([key]) => (key === '.' ? pkg.name : `${pkg.name}/${key.slice(2)}`));
}

/**
 * The specifiers a package exports only for `import`: hooks for `node --import` (such as
 * `@voicetrace/livekit/register`), ESM by nature (`--import` loads ESM, whatever the agent's module system).
 */
export function importHooks(pkg: PackageJson): string[] {
  return Object.entries(pkg.exports ?? {})
    .filter(([key, value]) => key !== './package.json' && typeof value === 'object' && isImportHook(value))
    .map(([key]) => `${pkg.name}/${key.slice(2)}`);
}

function isImportHook(conditions: unknown): boolean {
  const keys = Object.keys(conditions as object);
  return keys.length === 1 && keys[0] === 'import';
}

/** The packages a package's sources import (bare specifiers, `node:` and builtins left out). */
export function sourceImports(dir: string): Set<string> {
  const found = new Set<string>();
  const walk = (path: string): void => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const full = join(path, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (/\.m?ts$/.test(entry.name) && !/\.(test|spec)\.m?ts$/.test(entry.name)) {
        const text = readFileSync(full, 'utf8');
        // `register('<package>/hook.mjs', ...)` (node:module) loads a package too
        for (const match of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*|\bregister\s*\(\s*)['"]([^'"]+)['"]/g)) {
          const specifier = match[1]!;
          if (specifier.startsWith('.') || specifier.startsWith('node:') || specifier.startsWith('/')) continue;
          const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
          found.add(name);
        }
      }
    }
  };
  walk(join(dir, 'src'));
  return found;
}

/** The files of a .tgz (paths without the leading `package/`), read without extracting to disk. */
export function tarballEntries(file: string): Map<string, Buffer> {
  const data = gunzipSync(readFileSync(file));
  const entries = new Map<string, Buffer>();
  let offset = 0;
  while (offset + 512 <= data.length) {
    const header = data.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) break;
    const field = (start: number, length: number): string => header.subarray(start, start + length).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const prefix = field(345, 155);
    const name = (prefix ? `${prefix}/` : '') + field(0, 100);
    const type = field(156, 1);
    if (type === '0' || type === '') entries.set(name.replace(/^package\//, ''), data.subarray(offset + 512, offset + 512 + size));
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return entries;
}

/** A hash of a tarball's file names and contents (pnpm writes file times into the archive). */
export function tarballContentHash(file: string): string {
  const hash = createHash('sha256');
  for (const [name, content] of [...tarballEntries(file)].sort(([a], [b]) => a.localeCompare(b))) hash.update(name).update('\0').update(content);
  return hash.digest('hex');
}

export interface Snippet {
  /** `README.md:12`, for messages. */
  where: string;
  /** `skip (...)` / `run` from an HTML comment right before the fence. */
  marker: string | undefined;
  code: string;
}

/** Every ```ts fence of a README, with the marker comment right before it. */
export function readmeSnippets(readme: string): Snippet[] {
  const lines = readFileSync(readme, 'utf8').split('\n');
  const snippets: Snippet[] = [];
  const label = posix.relative(repoRoot.split('\\').join('/'), readme.split('\\').join('/'));
  for (let i = 0; i < lines.length; i++) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i]!)) continue;
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end++;
    let before = i - 1;
    while (before >= 0 && lines[before]!.trim() === '') before--;
    const marker = before >= 0 ? /^<!--\s*snippet:\s*(.+?)\s*-->$/.exec(lines[before]!.trim())?.[1] : undefined;
    snippets.push({ where: `${label}:${i + 1}`, marker, code: lines.slice(i + 1, end).join('\n') });
    i = end;
  }
  return snippets;
}

/**
 * What a snippet may use without declaring it: the objects of the agent around it, typed with the
 * real types of `@livekit/agents`, `@livekit/rtc-node` and the OTel SDK.
 */
const PRELUDE: Record<string, string> = {
  ctx: 'declare const ctx: __lk.JobContext;',
  session: 'declare const session: __lk.voice.AgentSession;',
  agent: 'declare const agent: __lk.voice.Agent;',
  participant: 'declare const participant: __rtc.RemoteParticipant;',
  jobMetadata: 'declare const jobMetadata: { traceparent?: string };',
  traceparent: 'declare const traceparent: string | undefined;',
  span: 'declare const span: __otel.ReadableSpan;',
  exporter: 'declare const exporter: __otel.SpanExporter;',
  replies: 'declare const replies: __sp.ScriptedReply[];',
};
const PRELUDE_IMPORTS = [
  "import type * as __lk from '@livekit/agents';",
  "import type * as __rtc from '@livekit/rtc-node';",
  "import type * as __otel from '@opentelemetry/sdk-trace-base';",
  "import type * as __sp from '@voicetrace/scripted-plugins';",
];

/**
 * A snippet as a module: its imports first, the prelude for what it uses but does not declare, then its
 * code; in a `.cts` file the code goes into an async function (no top-level await in CommonJS).
 */
export function snippetModule(code: string, kind: 'mts' | 'cts'): { text: string; codeLine: number } {
  const imports: string[] = [];
  const body = code.replace(/^import\s[\s\S]*?from\s*['"][^'"]+['"];?[ \t]*$|^import\s*['"][^'"]+['"];?[ \t]*$/gm, (statement) => {
    imports.push(statement);
    return '';
  });
  const declared = (name: string): boolean =>
    new RegExp(`\\b(?:const|let|var|function|class)\\s+${name}\\b`).test(body) || imports.some((statement) => new RegExp(`\\b${name}\\b`).test(statement.replace(/from\s*['"][^'"]+['"]/, '')));
  const prelude = Object.entries(PRELUDE)
    .filter(([name]) => new RegExp(`\\b${name}\\b`).test(body) && !declared(name))
    .map(([, declaration]) => declaration);
  const head = [...PRELUDE_IMPORTS, ...imports, ...prelude];
  // in CommonJS the code runs inside a function: an agent file's `export default defineAgent(...)` becomes an expression there
  const cjsBody = body.replace(/^export default /m, 'void ');
  const lines = kind === 'mts' ? [...head, body, 'export {};'] : [...head, 'export async function snippet(): Promise<void> {', cjsBody, '}'];
  return { text: `${lines.join('\n')}\n`, codeLine: head.length + (kind === 'cts' ? 2 : 1) };
}

export interface InstalledCopy {
  name: string;
  version: string;
  /** Relative to the project, e.g. `node_modules/@opentelemetry/core`. */
  path: string;
}

/** Every installed copy of every `@opentelemetry/*` package under a project's node_modules. */
export function openTelemetryCopies(project: string): InstalledCopy[] {
  const copies: InstalledCopy[] = [];
  const walk = (modules: string): void => {
    if (!existsSync(modules)) return;
    for (const entry of readdirSync(modules, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name === '.bin') continue;
      const dirs = entry.name.startsWith('@')
        ? readdirSync(join(modules, entry.name), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(modules, entry.name, e.name))
        : [join(modules, entry.name)];
      for (const dir of dirs) {
        const manifest = join(dir, 'package.json');
        if (!existsSync(manifest)) continue;
        const { name, version } = JSON.parse(readFileSync(manifest, 'utf8')) as PackageJson;
        if (name?.startsWith('@opentelemetry/')) copies.push({ name, version, path: posix.relative(project.split('\\').join('/'), dir.split('\\').join('/')) });
        walk(join(dir, 'node_modules'));
      }
    }
  };
  walk(join(project, 'node_modules'));
  return copies;
}

/** The directory a package required from `fromDir` (inside the project) resolves to, as Node looks it up. */
export function resolvePackageDir(project: string, fromDir: string, name: string): string | undefined {
  let dir = fromDir;
  for (;;) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return posix.relative(project.split('\\').join('/'), candidate.split('\\').join('/'));
    if (resolve(dir) === resolve(project)) return undefined;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command; never rejects (a non-zero exit, a timeout or a spawn failure is in the result). */
export function command(file: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<CommandResult> {
  return new Promise((resolvePromise) => {
    execFile(file, args, { cwd: options.cwd, env: options.env ?? process.env, timeout: options.timeoutMs ?? 120_000, maxBuffer: 256 * 1024 * 1024, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? ((error as { code: number }).code) : 1) : 0;
      const note = error && (error as { killed?: boolean }).killed ? `\n(killed after ${options.timeoutMs ?? 120_000} ms)` : error && code === 1 && !stderr ? `\n${error.message}` : '';
      resolvePromise({ code, stdout: String(stdout), stderr: String(stderr) + note });
    });
  });
}

/**
 * The environment for npm in the project: what pnpm or npm exported for the running script
 * (`npm_config_*`, `npm_package_*`...) would otherwise configure the user's npm; registry,
 * proxy and certificate settings are kept.
 */
export function npmEnv(): NodeJS.ProcessEnv {
  const keep = /^npm_config_(registry|.*:registry|https?[-_]proxy|proxy|no[-_]?proxy|cafile|ca|strict[-_]ssl|cache|userconfig)$/i;
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) || keep.test(key)));
}

/** True when npm's output says the registry could not be reached. */
export function looksOffline(output: string): boolean {
  return /\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|network request .* failed|request to https?:\/\/\S+ failed)\b/i.test(output);
}

export const isCI = (): boolean => /^(1|true|yes)$/i.test(process.env.CI ?? '');
