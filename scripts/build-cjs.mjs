#!/usr/bin/env node
// The CommonJS half of a publishable package's dual build. Run from the package's directory after
// `tsc -p tsconfig.json` (which emits the ESM `.js`, the `.d.ts` and their maps into dist/):
//
//   src/**/*.ts  ->  dist/**/*.cjs (+ .cjs.map)    per-file CommonJS, transpiled by TypeScript itself
//   dist/**/*.d.ts -> dist/**/*.d.cts (+ .d.cts.map)  the same declarations, relative specifiers -> .cjs
//
// Why not tsup: a second tool with its own bundler and declaration bundler (rollup-plugin-dts) for
// what is a per-file syntax transform; tsc already type-checks once and emits the declarations, and
// the sources are written for it (isolatedModules + verbatimModuleSyntax: every file transpiles on
// its own). Why not a second `tsc` run: it would type-check everything again and still emit `.js`
// (tsc names outputs after the source's extension), so the files would need renaming and their
// specifiers rewriting anyway. Per-file output keeps the module graph of the ESM build: the `.cjs`
// files require `@livekit/agents`, `@opentelemetry/*` and each other through the `require`
// condition, so a CommonJS agent gets one CommonJS copy of every module.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/**
 * `@livekit/agents` 1.9's CommonJS declarations (`index.d.cts`) re-export its ESM `.d.ts` files, which
 * resolve `@livekit/rtc-node` to its ESM declarations. Ours must name the same `AudioFrame` declaration,
 * or a CommonJS TypeScript agent cannot hand our `AudioOutput` to an `AgentSession` (TS2375: separate
 * declarations of a private property). Types only: at run time both sides require the CommonJS build.
 */
const ESM_TYPED_PEERS = ['@livekit/rtc-node'];

const packageDir = process.cwd();
const configPath = join(packageDir, 'tsconfig.json');
const parsed = ts.getParsedCommandLineOfConfigFile(configPath, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => fail(ts.flattenDiagnosticMessageText(d.messageText, '\n')) });
if (!parsed) fail(`cannot read ${configPath}`);
if (parsed.errors.length) fail(parsed.errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('\n'));
const { outDir, rootDir } = parsed.options;
if (!outDir || !rootDir) fail(`${configPath} must set rootDir and outDir`);

// Outputs of deleted sources must not ship: tsc never removes them, so drop every .js/.d.ts (and map)
// without a source in this build, and every CommonJS output (rewritten below).
const sources = new Set(parsed.fileNames.map((file) => resolve(file)));
for (const file of walk(outDir)) {
  if (/\.(cjs|d\.cts)(\.map)?$/.test(file)) rmSync(file);
  else if (/\.(js|d\.ts)(\.map)?$/.test(file)) {
    const stem = relative(outDir, file).replace(/\.(js|d\.ts)(\.map)?$/, '');
    if (!['.ts', '.tsx', '.mts'].some((ext) => sources.has(resolve(rootDir, stem + ext)))) rmSync(file);
  }
}

const compilerOptions = {
  ...parsed.options,
  module: ts.ModuleKind.CommonJS,
  moduleResolution: ts.ModuleResolutionKind.Node10,
  verbatimModuleSyntax: false, // it forbids `import` syntax in CommonJS output; the sources already mark type-only imports
  declaration: false,
  declarationMap: false,
  sourceMap: true,
  inlineSourceMap: false,
  noEmit: false,
};
let count = 0;
for (const source of parsed.fileNames) {
  if (!source.endsWith('.ts') || source.endsWith('.d.ts')) continue;
  const out = join(outDir, relative(rootDir, source)).replace(/\.ts$/, '.cjs');
  const { outputText, sourceMapText } = ts.transpileModule(readFileSync(source, 'utf8'), { compilerOptions, fileName: source, reportDiagnostics: false });
  if (/\bimport\.meta\b/.test(outputText)) fail(`${relative(packageDir, source)} uses import.meta, which CommonJS does not have`);
  mkdirSync(dirname(out), { recursive: true });
  const map = JSON.parse(sourceMapText ?? '{}');
  map.file = basename(out);
  map.sources = [relative(dirname(out), source).split(sep).join('/')];
  writeFileSync(out, withMapUrl(toCjsSpecifiers(outputText), basename(out)));
  writeFileSync(`${out}.map`, JSON.stringify(map));
  count++;
}
for (const declaration of walk(outDir).filter((file) => file.endsWith('.d.ts'))) {
  const out = declaration.replace(/\.d\.ts$/, '.d.cts');
  let text = esmTypedPeers(toCjsSpecifiers(readFileSync(declaration, 'utf8'))).replace(/\/\/# sourceMappingURL=\S+\s*$/, '').trimEnd() + '\n';
  if (existsSync(`${declaration}.map`)) {
    const map = JSON.parse(readFileSync(`${declaration}.map`, 'utf8'));
    map.file = basename(out);
    writeFileSync(`${out}.map`, JSON.stringify(map));
    text = withMapUrl(text, basename(out));
  }
  writeFileSync(out, text);
}
if (count === 0) fail(`no sources found for ${configPath}`);

/** `./x.js` -> `./x.cjs` in require() calls, import/export declarations and import() types; packages are left alone. */
function toCjsSpecifiers(text) {
  return text.replace(/(\brequire\(|\bfrom\s*|\bimport\()(['"])(\.{1,2}\/[^'"]*?)\.js\2/g, '$1$2$3.cjs$2');
}

/** Type imports of {@link ESM_TYPED_PEERS} in a `.d.cts` keep ESM resolution. */
function esmTypedPeers(text) {
  for (const name of ESM_TYPED_PEERS) {
    const quoted = name.replace(/[/]/g, '\\/');
    text = text
      .replace(new RegExp(`^import (?:type )?(\\{[^}]*\\}) from '${quoted}';`, 'gm'), `import type $1 from '${name}' with { 'resolution-mode': 'import' };`)
      .replace(new RegExp(`import\\((['"])${quoted}\\1\\)`, 'g'), `import('${name}', { with: { 'resolution-mode': 'import' } })`);
  }
  return text;
}

/** Points the trailing sourceMappingURL comment at `<file>.map` (or leaves the text without one). */
function withMapUrl(text, file) {
  return text.replace(/\/\/# sourceMappingURL=\S+\s*$/, '').trimEnd() + `\n//# sourceMappingURL=${file}.map\n`;
}

function walk(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((entry) => (entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)]));
}

function fail(message) {
  console.error(`build-cjs: ${message}`);
  process.exit(1);
}
