// Latency figure keys, wait keys, wait owners and stage names are defined once, in this package
// (LATENCY_STAGES, WAIT_CONTRIBUTIONS, WAIT_OWNER_LABELS, STAGES). This scans the product sources
// (packages/*/src, examples/*/src, scripts; not tests, not this package) for a hand-written list or
// table of them (array elements, object keys, property values, type union members), which would
// drift from the conventions the day a row is added. A key used in code (`advance('llm_ttft', ...)`,
// `owner === 'provider:llm'`, a function argument) is not a list and is not flagged.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LATENCY_STAGES, STAGES, WAIT_CONTRIBUTIONS } from '../src/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

type Position = 'element' | 'key' | 'value' | 'union';
const ANY: ReadonlySet<Position> = new Set(['element', 'key', 'value', 'union']);

interface Vocabulary {
  name: string;
  words: ReadonlySet<string>;
  /** Distinct words in list positions in one file from which it is a hand copy. */
  threshold: number;
  /** Where a word counts: array elements, object keys, property values (`stage: 'llm'`), members of a type union. */
  positions: ReadonlySet<Position>;
}

const VOCABULARIES: Vocabulary[] = [
  { name: 'latency figure keys (LATENCY_STAGES)', words: new Set(LATENCY_STAGES.map((s) => s.key)), threshold: 3, positions: ANY },
  { name: 'wait keys (WAIT_CONTRIBUTIONS)', words: new Set(WAIT_CONTRIBUTIONS.map((c) => c.key)), threshold: 3, positions: ANY },
  { name: 'wait owners (WAIT_CONTRIBUTIONS)', words: new Set(WAIT_CONTRIBUTIONS.map((c) => c.owner)), threshold: 3, positions: ANY },
  // `llm`, `tts`, `stt`... are also event kinds, provider kinds and record keys (`kind: 'llm'`, `{ llm: spans }`):
  // only an array of most stages counts
  { name: 'stage names (STAGES)', words: new Set(STAGES), threshold: 6, positions: new Set(['element']) },
];

/** Files allowed to keep a list, and why (none today). */
const ALLOWED: Readonly<Record<string, string>> = {
};

/** The product sources: packages/*\/src, examples/*\/src and scripts, without tests, build output and this package. */
function sources(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(ts|mts|cts|js|mjs|cjs)$/.test(name) && !/\.test\.[cm]?[jt]s$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
    }
  };
  for (const group of ['packages', 'examples']) {
    for (const pkg of readdirSync(join(ROOT, group))) {
      if (group === 'packages' && pkg === 'conventions') continue;
      const src = join(ROOT, group, pkg, 'src');
      try {
        if (statSync(src).isDirectory()) walk(src);
      } catch {
        // a package without sources
      }
    }
  }
  walk(join(ROOT, 'scripts'));
  return out.sort();
}

/** A string literal or identifier with the code characters around it. */
interface Token {
  text: string;
  quoted: boolean;
  before: string;
  after: string;
  /** The code characters before `before` and after `after` (to tell `|` from `||`). */
  before2: string;
  after2: string;
  /** The innermost open bracket around it: `[`, `{`, `(` or '' at the top level. */
  inside: string;
  line: number;
}

/**
 * The tokens of a source that can be list entries: string literals (their whole content) and
 * identifiers. Comments are skipped; template literals count as strings (their `${}` too).
 */
function tokens(source: string): Token[] {
  const out: Token[] = [];
  const code: Array<{ ch: string; at: number }> = []; // code outside strings and comments, as (char, index)
  const literals: Array<{ text: string; start: number }> = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i]!;
    const next = source[i + 1];
    if (ch === '/' && next === '/') {
      while (i < source.length && source[i] !== '\n') i++;
    } else if (ch === '/' && next === '*') {
      const end = source.indexOf('*/', i + 2);
      i = end === -1 ? source.length : end + 2;
    } else if (ch === "'" || ch === '"' || ch === '`') {
      let j = i + 1;
      while (j < source.length && source[j] !== ch && !(ch !== '`' && source[j] === '\n')) j += source[j] === '\\' ? 2 : 1;
      literals.push({ text: source.slice(i + 1, j), start: i });
      code.push({ ch: '"', at: i });
      i = j + 1;
    } else {
      code.push({ ch, at: i });
      i++;
    }
  }
  const lineOf = (at: number) => source.slice(0, at).split('\n').length;
  const neighbours = (index: number): Pick<Token, 'before' | 'before2' | 'after' | 'after2'> => {
    let b = index - 1;
    while (b >= 0 && /\s/.test(code[b]!.ch)) b--;
    let a = index + 1;
    while (a < code.length && /\s/.test(code[a]!.ch)) a++;
    return { before: b >= 0 ? code[b]!.ch : '', before2: b >= 1 ? code[b - 1]!.ch : '', after: a < code.length ? code[a]!.ch : '', after2: a + 1 < code.length ? code[a + 1]!.ch : '' };
  };
  const open: string[] = [];
  const inside = () => open[open.length - 1] ?? '';
  let literal = 0;
  for (let k = 0; k < code.length; k++) {
    const ch = code[k]!.ch;
    if (ch === '[' || ch === '{' || ch === '(') open.push(ch);
    else if (ch === ']' || ch === '}' || ch === ')') open.pop();
    if (ch === '"' && literals[literal]?.start === code[k]!.at) {
      const { text, start } = literals[literal++]!;
      out.push({ text, quoted: true, ...neighbours(k), inside: inside(), line: lineOf(start) });
      continue;
    }
    if (!/[A-Za-z_$]/.test(code[k]!.ch) || (k > 0 && /[\w$.]/.test(code[k - 1]!.ch))) continue;
    let e = k;
    while (e < code.length && /[\w$]/.test(code[e]!.ch) && code[e]!.at === code[k]!.at + (e - k)) e++;
    const text = code.slice(k, e).map((c) => c.ch).join('');
    const { before, before2 } = neighbours(k);
    let a = e;
    while (a < code.length && /\s/.test(code[a]!.ch)) a++;
    out.push({ text, quoted: false, before, before2, after: a < code.length ? code[a]!.ch : '', after2: '', inside: inside(), line: lineOf(code[k]!.at) });
    k = e - 1;
  }
  return out;
}

/** Where the token stands in a list or table, if it does: an array element, an object key, a property value, a union member. */
function position(t: Token): Position | undefined {
  if (t.inside === '[' && (t.before === '[' || t.before === ',') && (t.after === ',' || t.after === ']')) return 'element';
  // an object key, or an interface member (`e2e?: number;`)
  if (t.inside === '{' && (t.before === '{' || t.before === ',' || t.before === ';') && (t.after === ':' || t.after === '?')) return 'key';
  if (t.inside === '{' && t.quoted && t.before === ':' && (t.after === ',' || t.after === '}')) return 'value';
  if (t.quoted && ((t.before === '|' && t.before2 !== '|') || (t.after === '|' && t.after2 !== '|'))) return 'union';
  return undefined;
}

const counted = (t: Token, v: Vocabulary): boolean => {
  if (!v.words.has(t.text)) return false;
  const p = position(t);
  return p !== undefined && v.positions.has(p);
};

/** Per file, the vocabularies it lists by hand (at least `threshold` distinct words), with where. */
function handCopies(files: readonly string[]): string[] {
  const found: string[] = [];
  for (const file of files) {
    const all = tokens(readFileSync(file, 'utf8'));
    for (const v of VOCABULARIES) {
      const hits = all.filter((t) => counted(t, v));
      const distinct = new Set(hits.map((t) => t.text));
      if (distinct.size >= v.threshold) found.push(`${relative(ROOT, file)}: ${v.name}: ${[...distinct].join(', ')} (lines ${[...new Set(hits.map((t) => t.line))].join(', ')})`);
    }
  }
  return found;
}

describe('no hand-copied key lists in product sources', () => {
  it('the scanner flags a list, a table and object keys, and not single uses in code', () => {
    const scan = (source: string) => {
      const all = tokens(source);
      return VOCABULARIES.map((v) => new Set(all.filter((t) => counted(t, v)).map((t) => t.text)).size);
    };
    expect(scan(`const ORDER = ['transcription_delay', 'eou_delay', 'llm_ttft'];`)[0]).toBe(3);
    expect(scan(`const L = [{ key: 'e2e', label: 'x' }, { key: "total", label: 'y' }, { key: \`tts_ttfb\` }];`)[0]).toBe(3);
    expect(scan(`const O = { stt_final_transcript: 'provider:stt', endpointing_delay: 'setting:endpointing', llm_ttft: 'provider:llm' };`).slice(1, 3)).toEqual([3, 3]);
    expect(scan(`const S = new Set(['session', 'user_turn', 'vad', 'stt', 'eou', 'agent_turn']);`)[3]).toBe(6);
    expect(scan(`export type LatencyStage = 'e2e' | 'eou_delay' | 'total';`)[0]).toBe(3);
    expect(scan(`interface Figures {\n  e2e?: number;\n  total?: number;\n  llm_ttft: number;\n}`)[0]).toBe(3);
    // single uses, comments and text are not lists
    expect(scan(`advance('llm_ttft', 1); advance('tts_ttfb', 2); v.duration('e2e', x, 's'); if (owner === 'provider:llm' || k === 'total') {}`)).toEqual([0, 0, 0, 0]);
    expect(scan(`if (k === 'e2e' || k === 'total' || k === 'llm_ttft') {}`)).toEqual([0, 0, 0, 0]);
    expect(scan(`f(a, 'llm_tool_step', 'tool_execution', 'playout_start'); emit('vad', 1); emit('stt', 2); emit('eou', 3); emit('llm', 4); emit('tts', 5); emit('tool', 6);`)).toEqual([0, 0, 0, 0]);
    expect(scan(`const spans = { session: 1, vad: 2, stt: 3, eou: 4, llm: 5, tts: 6 };`)[3]).toBe(0);
    expect(scan(`// ['e2e', 'total', 'llm_ttft']\n/* { e2e: 1, total: 2, llm_ttft: 3 } */ const s = 'e2e, total, llm_ttft';`)).toEqual([0, 0, 0, 0]);
    expect(scan(`const a = { kind: 'llm', x: 1 }; const b = { kind: 'tts' }; const c = { kind: 'stt' }; const d = { kind: 'vad' }; const e = { kind: 'eou' }; const f = { kind: 'realtime' };`)[3]).toBe(0);
  });

  it('finds none outside the allowed files', () => {
    const files = sources();
    expect(files.length).toBeGreaterThan(50);
    const copies = handCopies(files.filter((f) => !(relative(ROOT, f) in ALLOWED)));
    expect(copies, 'read LATENCY_STAGES / WAIT_CONTRIBUTIONS / WAIT_OWNER_LABELS / STAGES from @voicetrace/conventions instead').toEqual([]);
  });

  it('the allowed files exist', () => {
    for (const file of Object.keys(ALLOWED)) expect(() => statSync(join(ROOT, file)), file).not.toThrow();
  });

  it('report.schema.json lists the latency figures of LATENCY_STAGES, in order (plus anchor_shift)', () => {
    const schema = JSON.parse(readFileSync(join(ROOT, 'packages/report/src/report.schema.json'), 'utf8')) as { $defs: { latency: { properties: Record<string, unknown> } } };
    expect(Object.keys(schema.$defs.latency.properties)).toEqual([...LATENCY_STAGES.map((s) => s.key), 'anchor_shift']);
  });
});
