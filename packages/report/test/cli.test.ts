import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, runCli } from '../src/cli/run.js';
import type { SessionSetSummary } from '../src/cli/summary.js';
import { compareSummaries, type Comparison } from '../src/cli/compare.js';
import type { SessionReportJson } from '../src/types.js';
import { DEMO_REPORT_PATH, DEMO_TRACES_PATH, demoReport, memoryIo, writeSessionSet } from './helpers/sessions.js';

const root = mkdtempSync(join(tmpdir(), 'voicetrace-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function cli(argv: string[], options: { tty?: boolean } = {}) {
  const io = memoryIo({ cwd: root, ...options });
  const code = await runCli(argv, io.io);
  return { code, out: io.out, err: io.err };
}

function dir(name: string): string {
  const path = join(root, name);
  mkdirSync(path, { recursive: true });
  return path;
}

describe('voicetrace --help and usage errors', () => {
  it('prints help globally and per command, exit 0', async () => {
    for (const argv of [['--help'], ['-h'], ['help'], ['report', '--help'], ['summarize', '-h'], ['compare', '--help'], ['help', 'compare']]) {
      const { code, out, err } = await cli(argv);
      expect(code, argv.join(' ')).toBe(EXIT.OK);
      expect(out, argv.join(' ')).toMatch(/Usage:/);
      expect(err).toBe('');
    }
    const { out } = await cli(['--help']);
    expect(out).toMatch(/Exit codes:[\s\S]*0 +ok[\s\S]*1 +compare[\s\S]*2 +usage error[\s\S]*3 +no valid input/);
  });

  it('no command, an unknown command, an unknown option or a missing argument: exit 2 and a pointer to --help', async () => {
    expect((await cli([])).code).toBe(EXIT.USAGE);
    const unknown = await cli(['sumarize', 'x']);
    expect(unknown).toMatchObject({ code: EXIT.USAGE, out: '' });
    expect(unknown.err).toMatch(/unknown command "sumarize"[\s\S]*See: voicetrace --help/);
    const option = await cli(['summarize', '--jsn', 'x']);
    expect(option.code).toBe(EXIT.USAGE);
    expect(option.err).toMatch(/Unknown option '--jsn'[\s\S]*See: voicetrace summarize --help/);
    expect((await cli(['report'])).err).toMatch(/which report.json or traces file/);
    expect((await cli(['compare', 'a'])).code).toBe(EXIT.USAGE);
    expect((await cli(['summarize', 'x', '--top', 'many'])).err).toMatch(/--top "many": expected a whole number/);
    expect((await cli(['summarize', 'x', '--max-line-bytes', '-3'])).code).toBe(EXIT.USAGE);
    expect((await cli(['report', 'x', '--link', 'nolink'])).err).toMatch(/--link "nolink": expected name=template/);
    for (const { err } of [unknown, option]) expect(err).not.toMatch(/\n\s+at /); // never a stack trace
  });
});

describe('voicetrace report', () => {
  it('renders a report.json beside it (report.html) and prints the path', async () => {
    const d = dir('report-good');
    copyFileSync(DEMO_REPORT_PATH, join(d, 'report.json'));
    const { code, out, err } = await cli(['report', join(d, 'report.json')]);
    expect({ code, err }).toEqual({ code: EXIT.OK, err: '' });
    expect(out.trim()).toBe(join(d, 'report.html'));
    const html = readFileSync(join(d, 'report.html'), 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain(demoReport().voicetrace.session_id);
    // a directory works too, and -o puts the page elsewhere
    const other = join(root, 'elsewhere', 'page.html');
    expect((await cli(['report', d, '-o', other])).code).toBe(EXIT.OK);
    expect(existsSync(other)).toBe(true);
  });

  it('renders traces (one page per session when there are several), with --link', async () => {
    const d = dir('report-traces');
    const text = readFileSync(DEMO_TRACES_PATH, 'utf8');
    writeFileSync(join(d, 'traces.jsonl'), `${text}\n${text.replaceAll(demoReport().voicetrace.session_id, 'sess_two')}`);
    const { code, out } = await cli(['report', join(d, 'traces.jsonl'), '--link', 'jaeger=http://localhost:16686/trace/{trace_id}']);
    expect(code).toBe(EXIT.OK);
    expect(out.trim().split('\n').sort()).toEqual([join(d, `report-${demoReport().voicetrace.session_id}.html`), join(d, 'report-sess_two.html')].sort());
    expect(readFileSync(join(d, 'report-sess_two.html'), 'utf8')).toContain('http://localhost:16686/trace/');
    const one = await cli(['report', join(d, 'traces.jsonl'), '--session', 'sess_two', '-o', join(d, 'two.html')]);
    expect(one).toMatchObject({ code: EXIT.OK, out: `${join(d, 'two.html')}\n` });
    expect((await cli(['report', join(d, 'traces.jsonl'), '--session', 'nope'])).code).toBe(EXIT.NO_INPUT);
  });

  it('missing, empty, truncated, malformed and wrongly typed files: exit 3 with file, line and reason, no stack', async () => {
    const d = dir('report-bad');
    const report = readFileSync(DEMO_REPORT_PATH, 'utf8');
    const cases: Array<[string, string | undefined, RegExp]> = [
      ['missing.json', undefined, /missing\.json: no such file or directory/],
      ['empty.json', '', /empty\.json: empty file/],
      ['blank.jsonl', '\n\n  \n', /blank\.jsonl: empty file \(only blank lines\)/],
      ['truncated.json', report.slice(0, 20_000), /truncated\.json:\d+: truncated: the JSON ends before the report does/],
      ['garbage.json', '{"job_id": "", oops}', /garbage\.json:1: not valid JSON: /],
      ['types.json', JSON.stringify({ ...JSON.parse(report), voicetrace: { ...JSON.parse(report).voicetrace, cost: 'free', turns: 'none' } }), /types\.json: not a voicetrace session report \(schema\): \/voicetrace\/turns must be array; \/voicetrace\/cost must be number/],
      ['other.json', '{"hello": "world"}', /other\.json: not a voicetrace session report \(schema\): \/ must have required property 'job_id'/],
      ['truncated.jsonl', readFileSync(DEMO_TRACES_PATH, 'utf8').slice(0, 3000), /truncated\.jsonl:1: truncated: the last line ends in the middle of a JSON value/],
      ['notvoicetrace.jsonl', '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0af7651916cd43dd8448eb211c80319c","spanId":"b7ad6b7169203331","name":"GET","startTimeUnixNano":"1795635413948999882","endTimeUnixNano":"1795635413958999882"}]}]}]}\n', /notvoicetrace\.jsonl: spans found, but none carries a session\.id: not written by voicetrace\?/],
    ];
    for (const [name, content, reason] of cases) {
      if (content !== undefined) writeFileSync(join(d, name), content);
      const { code, out, err } = await cli(['report', join(d, name)]);
      expect(code, name).toBe(EXIT.NO_INPUT);
      expect(out, name).toBe('');
      expect(err, name).toMatch(reason);
      expect(err, name).not.toMatch(/\n\s+at /);
    }
  });

  it('hostile traces: a huge line and wrong types are skipped and reported; the rest renders (exit 4 with --strict)', async () => {
    const d = dir('report-hostile');
    const text = readFileSync(DEMO_TRACES_PATH, 'utf8');
    const request = JSON.parse(text.split('\n')[0]!);
    request.resourceSpans[0].scopeSpans[0].spans[0].endTimeUnixNano = [1, 2];
    const huge = `{"resourceSpans":[],"x":"${'A'.repeat(5 * 1024 * 1024)}"}`;
    writeFileSync(join(d, 'traces.jsonl'), [huge, JSON.stringify(request), ...text.split('\n').slice(1), '{"resourceSpans": [{"scopeSpans": [{"spans": [null, 7, "x"]}]}]}'].join('\n'));
    const { code, err } = await cli(['report', join(d, 'traces.jsonl'), '--max-line-bytes', '1M']);
    expect(code).toBe(EXIT.OK);
    expect(err).toMatch(/traces\.jsonl:1: line is \d{7} bytes, over the 1048576-byte limit: skipped/);
    expect(err).toMatch(/traces\.jsonl:2: 1 span\(s\) skipped: span [0-9a-f]{16} \(\w+\): endTimeUnixNano an array is not a time/);
    expect(err).toMatch(/traces\.jsonl:\d+: 3 span\(s\) skipped: a span is null, not an object/);
    expect(existsSync(join(d, 'report.html'))).toBe(true);
    expect((await cli(['report', join(d, 'traces.jsonl'), '--max-line-bytes', '1M', '--strict'])).code).toBe(EXIT.BAD_INPUT);
  });

  it('an output that cannot be written: exit 5', async () => {
    const d = dir('report-unwritable');
    copyFileSync(DEMO_REPORT_PATH, join(d, 'report.json'));
    writeFileSync(join(d, 'file'), 'x');
    const { code, err } = await cli(['report', join(d, 'report.json'), '-o', join(d, 'file', 'report.html')]);
    expect(code).toBe(EXIT.WRITE_FAILED);
    expect(err).toMatch(/cannot write .*file\/report\.html/);
  });
});

describe('voicetrace summarize', () => {
  /** Three sessions whose e2e values are 0.1..1.8 s, costs 0.01/0.02/0.06, interruptions 1/0/2. */
  function smallSet(): string {
    const d = dir('small');
    const base = demoReport();
    const costs = [0.01, 0.02, 0.06];
    const interruptions = [1, 0, 2];
    const order = [7, 1, 14, 3, 18, 10, 2, 9, 16, 5, 12, 4, 11, 17, 6, 13, 8, 15]; // 1..18 shuffled
    for (let s = 0; s < 3; s++) {
      const report = structuredClone(base) as SessionReportJson;
      report.voicetrace.session_id = `small_${s}`;
      report.voicetrace.cost = costs[s]!;
      report.voicetrace.interruptions = interruptions[s]!;
      report.voicetrace.usage = [
        { type: 'llm_usage', provider: 'openai', model: 'gpt-4o-mini', requests: 2, cost: costs[s]! / 2 },
        { type: 'tts_usage', provider: 'cartesia', model: 'sonic-2', requests: 1, cost: costs[s]! / 2 },
      ];
      report.voicetrace.turns.flatMap((t) => t.replies).forEach((reply, i) => {
        reply.latency!.e2e = order[s * 6 + i]! / 10;
        reply.trace = { trace_id: 'f'.repeat(32), span_id: `${s}${i}`.padStart(16, '0') };
      });
      mkdirSync(join(d, `s${s}`), { recursive: true });
      writeFileSync(join(d, `s${s}`, 'report.json'), JSON.stringify(report));
    }
    return d;
  }

  it('computes the percentiles, costs, interruption rate and slowest turns a hand computation gives', async () => {
    const { code, out } = await cli(['summarize', smallSet(), '--json', '--top', '2']);
    expect(code).toBe(EXIT.OK);
    const s = JSON.parse(out) as SessionSetSummary;
    expect(s.sessions).toBe(3);
    // 18 e2e values 0.1..1.8; linear interpolation between closest ranks at (n - 1) * q
    // p50: rank 8.5 -> (0.9 + 1.0) / 2; p95: rank 16.15 -> 1.7 + 0.15 * 0.1; p99: rank 16.83 -> 1.7 + 0.83 * 0.1
    expect(s.latency.e2e!.count).toBe(18);
    expect(s.latency.e2e!.p50).toBeCloseTo(0.95, 12);
    expect(s.latency.e2e!.p95).toBeCloseTo(1.715, 12);
    expect(s.latency.e2e!.p99).toBeCloseTo(1.783, 12);
    expect(s.latency.e2e!.max).toBeCloseTo(1.8, 12);
    expect(s.latency.e2e!.mean).toBeCloseTo(0.95, 12);
    // each session has the fixture's six llm_ttft figures: 0.279 0.485 0.53 0.536 0.645 0.646, three times
    // sorted (18): 0.279 x3, 0.485 x3, 0.53 x3, 0.536 x3, 0.645 x3, 0.646 x3; p50 at rank 8.5: (0.53 + 0.536) / 2
    expect(s.latency.llm_ttft!.p50).toBeCloseTo(0.533, 12);
    expect(s.wait.llm_tool_step!.count).toBe(6);
    expect(s.cost.total).toBeCloseTo(0.09, 12);
    expect(s.cost.per_session).toMatchObject({ count: 3, p50: 0.02, max: 0.06 });
    expect(s.cost.per_session.mean).toBeCloseTo(0.03, 12);
    expect(s.cost.per_session.p95).toBeCloseTo(0.02 + 0.9 * 0.04, 12);
    expect(s.cost.per_model.map((m) => [m.provider, m.model, m.sessions, m.requests])).toEqual([
      ['cartesia', 'sonic-2', 3, 3], // the same cost: by provider name
      ['openai', 'gpt-4o-mini', 3, 6],
    ]);
    expect(s.cost.per_model[0]!.cost).toBeCloseTo(0.045, 12);
    expect(s.interruptions).toEqual({ count: 3, replies: 18, rate: 3 / 18, sessions_with: 2 });
    expect(s.slowest.map((t) => [t.e2e, t.session_id, t.trace_id, t.span_id])).toEqual([
      [1.8, 'small_0', 'f'.repeat(32), '0000000000000004'],
      [1.7, 'small_2', 'f'.repeat(32), '0000000000000021'],
    ]);
    // and the table says the same
    const table = await cli(['summarize', join(root, 'small')]);
    expect(table.out).toMatch(/3 sessions from 3 files/);
    expect(table.out).toMatch(/e2e +18 +950 ms +1715 ms +1783 ms +1800 ms +950 ms/);
    expect(table.out).toMatch(/Interruptions: 3 of 18 replies \(16\.7%\); 2 of 3 sessions had at least one/);
    expect(table.out).toMatch(/Cost \(estimates at list prices\): \$0\.0900 in total; per session p50 \$0\.0200/);
  });

  it('reads traces where a directory has no report, and counts a session present in both once', async () => {
    const d = dir('mixed');
    mkdirSync(join(d, 'a'));
    mkdirSync(join(d, 'b'));
    copyFileSync(DEMO_REPORT_PATH, join(d, 'a', 'report.json'));
    copyFileSync(DEMO_TRACES_PATH, join(d, 'a', 'traces.jsonl')); // ignored: a has a report
    copyFileSync(DEMO_TRACES_PATH, join(d, 'b', 'traces.jsonl')); // same session, from traces
    const { code, out } = await cli(['summarize', d, '--json']);
    expect(code).toBe(EXIT.OK);
    const s = JSON.parse(out) as SessionSetSummary;
    expect(s.inputs).toMatchObject({ files: 2, report_files: 1, traces_files: 1, duplicate_sessions: 1, bad_files: 0 });
    expect(s.sessions).toBe(1);
  });

  it('a report with one value out of schema in a turn (a wait slice of -1e-7 s) is still summarized, the value named; exit 4 only with --strict', async () => {
    const d = dir('one-bad-value');
    const report = demoReport();
    const reply = report.voicetrace.turns.flatMap((t) => t.replies).find((r) => r.wait.length)!;
    const turnIndex = report.voicetrace.turns.findIndex((t) => t.replies.includes(reply));
    const replyIndex = report.voicetrace.turns[turnIndex]!.replies.indexOf(reply);
    reply.wait[reply.wait.length - 1]!.seconds = -1e-7;
    writeFileSync(join(d, 'report.json'), JSON.stringify(report));
    const { code, out } = await cli(['summarize', d, '--json']);
    expect(code).toBe(EXIT.OK);
    const s = JSON.parse(out) as SessionSetSummary;
    expect(s.sessions).toBe(1);
    expect(s.replies).toBe(report.voicetrace.replies);
    expect(s.inputs).toMatchObject({ bad_files: 0 });
    expect(s.problems.map((p) => p.reason)).toEqual([expect.stringContaining(`summarized, with values out of the report schema: /voicetrace/turns/${turnIndex}/replies/${replyIndex}/wait/${reply.wait.length - 1}/seconds must be >=`)]);
    expect((await cli(['summarize', d, '--json', '--strict'])).code).toBe(EXIT.BAD_INPUT);
  });

  it('no session at all: exit 3; an empty directory, a missing path', async () => {
    const empty = dir('empty-dir');
    const r = await cli(['summarize', empty, join(root, 'nope')]);
    expect(r.code).toBe(EXIT.NO_INPUT);
    expect(r.err).toMatch(/empty-dir: no report\.json or traces \(\*\.jsonl\) file in this directory or below/);
    expect(r.err).toMatch(/nope: no such file or directory/);
    expect(r.err).toMatch(/no valid session found/);
  });

  describe('10,000 sessions in one directory, with bad files among them', () => {
    let big: string;
    const timings: Record<string, number> = {};
    beforeAll(() => {
      big = dir('big');
      writeSessionSet(big, { count: 10_000, seed: 7 });
      // the bad ones: empty, truncated, wrong types, a huge line, binary noise
      const bad = join(big, 'zz_bad');
      for (const [name, content] of [
        ['empty', ''],
        ['truncated', readFileSync(DEMO_REPORT_PATH, 'utf8').slice(0, 5_000)],
        ['types', JSON.stringify({ ...demoReport(), voicetrace: { ...demoReport().voicetrace, replies: -1 } })],
        ['huge', `{"x": "${'y'.repeat(3 * 1024 * 1024)}"}`],
        ['noise', '\u0000\u0001\u0002 binary \uFFFD'],
      ] as const) {
        mkdirSync(join(bad, name), { recursive: true });
        writeFileSync(join(bad, name, 'report.json'), content);
      }
      mkdirSync(join(bad, 'hugeline'), { recursive: true });
      writeFileSync(join(bad, 'hugeline', 'traces.jsonl'), `{"resourceSpans":[],"x":"${'z'.repeat(3 * 1024 * 1024)}"}\n`);
    }, 300_000);

    it('summarizes every good session, reports and counts every bad file, and keeps going', async () => {
      const started = performance.now();
      const { code, out, err } = await cli(['summarize', big, '--json', '--max-file-bytes', '2M', '--max-line-bytes', '1M']);
      timings['10,000'] = performance.now() - started;
      expect(code).toBe(EXIT.OK);
      const s = JSON.parse(out) as SessionSetSummary;
      expect(s.sessions).toBe(10_000);
      expect(s.replies).toBe(60_000);
      expect(s.inputs).toMatchObject({ files: 10_006, bad_files: 6 });
      const reasons = s.problems.map((p) => `${p.file.slice(big.length + 1)}${p.line !== undefined ? `:${p.line}` : ''}: ${p.reason}`);
      expect(reasons).toEqual([
        'zz_bad/empty/report.json: empty file',
        expect.stringMatching(/^zz_bad\/huge\/report\.json: file is \d{7} bytes, over the 2097152-byte limit/),
        expect.stringMatching(/^zz_bad\/noise\/report\.json(:1)?: not valid JSON/),
        expect.stringMatching(/^zz_bad\/truncated\/report\.json:\d+: truncated/),
        expect.stringMatching(/^zz_bad\/types\/report\.json: not a voicetrace session report \(schema\): \/voicetrace\/replies must be >= 0/),
        expect.stringMatching(/^zz_bad\/hugeline\/traces\.jsonl:1: line is \d{7} bytes, over the 1048576-byte limit/),
      ]);
      expect(err).toMatch(/6 problem\(s\) with the inputs/);
      expect(s.latency.e2e!.count).toBe(60_000);
      expect(s.slowest).toHaveLength(10);
      expect(s.slowest[0]!.e2e).toBeGreaterThan(s.latency.e2e!.p99!);
    }, 120_000);

    it('takes this long for 1,000 and 10,000 sessions (printed), and draws a progress bar only on a TTY', async () => {
      const thousand = dir('thousand');
      writeSessionSet(thousand, { count: 1_000, seed: 8 });
      let started = performance.now();
      const tty = await cli(['summarize', thousand], { tty: true });
      timings['1,000'] = performance.now() - started;
      expect(tty.code).toBe(EXIT.OK);
      expect(tty.err).toMatch(/\r\x1b\[Ksummarize \[#+\.*\] [\d,]+\/1,000 files/);
      expect(tty.err.endsWith('\r\x1b[K')).toBe(true); // the bar is cleared before the table
      const plain = await cli(['summarize', thousand]);
      expect(plain.err).toBe('');
      started = performance.now();
      await cli(['summarize', big]);
      timings['10,000 (table, bad files included)'] = performance.now() - started;
      console.info(`[report] summarize timings: ${Object.entries(timings).map(([n, ms]) => `${n} sessions ${(ms / 1000).toFixed(2)} s`).join('; ')}`);
    }, 120_000);
  });
});

describe('voicetrace compare', () => {
  let base: string;
  let same: string;
  let slow: string;
  beforeAll(() => {
    base = dir('cmp-base');
    same = dir('cmp-same');
    slow = dir('cmp-slow');
    writeSessionSet(base, { count: 30, seed: 11 });
    writeSessionSet(same, { count: 30, seed: 11 }); // identical figures
    writeSessionSet(slow, { count: 30, seed: 11, llm: 1.5 }); // LLM TTFT 1.5x slower
  });

  it('passes on an identical set', async () => {
    const { code, out } = await cli(['compare', base, same, '--max-regression', 'p95=15%', '--max-regression', 'llm_ttft.p95=20%,e2e.p50=+100ms']);
    expect(code).toBe(EXIT.OK);
    expect(out).toMatch(/OK: 8 checks within their limits/);
    expect(out).toMatch(/llm_ttft +p50 +180\/180 +\d+ ms +\d+ ms +0 ms \(0\.0%\)/);
  });

  it('fails on a set whose LLM TTFT is 1.5x slower, naming the stages', async () => {
    const { code, out } = await cli(['compare', base, slow, '--max-regression', 'llm_ttft.p95=20%', '--max-regression', 'e2e.p50=+100ms', '--max-regression', 'tts_ttfb.p95=5%']);
    expect(code).toBe(EXIT.REGRESSION);
    expect(out).toMatch(/llm_ttft +p50 .*\(\+50\.0%\)/);
    expect(out).toMatch(/p95 .*\+50\.0%\) +\+20% +FAIL/);
    expect(out).toMatch(/e2e +p50 .*\+100 ms +FAIL/);
    expect(out).toMatch(/tts_ttfb +p50[\s\S]*p95 .*0 ms \(0\.0%\) +\+5% +ok/);
    expect(out).toMatch(/REGRESSION: 2 of 3 checks past their limit: llm_ttft p95 \+\d+ ms \(\+50\.0%\) > \+20%; e2e p50 \+\d+ ms \(\+\d+\.\d%\) > \+100 ms/);
    const json = await cli(['compare', '--baseline', base, '--candidate', slow, '--max-regression', 'p95=15%', '--json']);
    expect(json.code).toBe(EXIT.REGRESSION);
    const cmp = JSON.parse(json.out) as Comparison;
    const ttft = cmp.checks.find((c) => c.stage === 'llm_ttft' && c.quantile === 'p95')!;
    expect(ttft.status).toBe('fail');
    expect(ttft.relative).toBeCloseTo(0.5, 9);
    expect(cmp.checks.find((c) => c.stage === 'tts_ttfb')!.status).toBe('ok');
    // a loose enough limit passes
    expect((await cli(['compare', base, slow, '--max-regression', 'llm_ttft.p95=60%'])).code).toBe(EXIT.OK);
  });

  it('a percentage limit ignores changes within the noise floor (--min-change, default 5 ms); absolute limits do not', () => {
    // a 1 ms stage that became 2 ms (+100%), and a 400 ms stage that grew by 8 ms (+2%)
    const set = (tiny: number, ttft: number): SessionSetSummary =>
      ({ sessions: 1, replies: 1, latency: { on_user_turn_completed_delay: { count: 10, p50: tiny, p95: tiny, p99: tiny }, llm_ttft: { count: 10, p50: ttft, p95: ttft, p99: ttft } }, wait: {}, cost: { per_session: { count: 1, p50: 0.01, p95: 0.01, p99: 0.01 } }, inputs: { bad_files: 0 } }) as unknown as SessionSetSummary;
    const base = set(0.001, 0.4);
    const cand = set(0.002, 0.408);
    const status = (cmp: Comparison, stage: string): string => cmp.checks.find((c) => c.stage === stage)!.status;
    const floored = compareSummaries(base, cand, [{ quantile: 'p95', kind: 'relative', limit: 0.01, text: 'p95=1%' }]);
    expect(status(floored, 'on_user_turn_completed_delay')).toBe('ok'); // +1 ms: noise
    expect(status(floored, 'llm_ttft')).toBe('fail'); // +8 ms and +2%: past both
    const unfloored = compareSummaries(base, cand, [{ quantile: 'p95', kind: 'relative', limit: 0.01, text: 'p95=1%' }], { minChangeSeconds: 0 });
    expect(status(unfloored, 'on_user_turn_completed_delay')).toBe('fail');
    const wide = compareSummaries(base, cand, [{ quantile: 'p95', kind: 'relative', limit: 0.01, text: 'p95=1%' }], { minChangeSeconds: 0.01 });
    expect(status(wide, 'llm_ttft')).toBe('ok');
    const absolute = compareSummaries(base, cand, [{ stage: 'on_user_turn_completed_delay', quantile: 'p95', kind: 'absolute', limit: 0.0005, text: 'x' }]);
    expect(status(absolute, 'on_user_turn_completed_delay')).toBe('fail');
  });

  it('--min-change takes a duration', async () => {
    expect((await cli(['compare', base, same, '--min-change', 'soon'])).code).toBe(EXIT.USAGE);
    expect((await cli(['compare', base, same, '--min-change', '2ms', '--max-regression', 'p95=1%'])).code).toBe(EXIT.OK);
  });

  it('bad thresholds are usage errors; an empty side is exit 3', async () => {
    for (const [spec, reason] of [
      ['p97=10%', /"p97" is not a quantile/],
      ['p95', /expected \[stage\.\]quantile=limit/],
      ['e2e.p95=fast', /"fast" is not a limit/],
      ['llm_ttf.p95=10%', /unknown stage "llm_ttf"/],
    ] as const) {
      const { code, err } = await cli(['compare', base, same, '--max-regression', spec]);
      expect(code, spec).toBe(EXIT.USAGE);
      expect(err, spec).toMatch(reason);
    }
    const empty = dir('cmp-empty');
    const { code, err } = await cli(['compare', base, empty]);
    expect(code).toBe(EXIT.NO_INPUT);
    expect(err).toMatch(/no valid session in the candidate/);
  });

  it('writes to a file with -o', async () => {
    const target = join(root, 'out', 'compare.json');
    const { code, err } = await cli(['compare', base, same, '--json', '-o', target]);
    expect(code).toBe(EXIT.OK);
    expect(err).toMatch(/wrote .*compare\.json/);
    expect((JSON.parse(readFileSync(target, 'utf8')) as Comparison).failed).toBe(0);
    expect(readdirSync(join(root, 'out'))).toEqual(['compare.json']); // atomic: no temporary left
  });
});
