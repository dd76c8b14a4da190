import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { attachClips, type TurnClipInput } from '../src/clips.js';
import { EXIT, runCli } from '../src/cli/run.js';
import { renderReportHtml } from '../src/html/render.js';
import type { SessionReportJson } from '../src/types.js';
import { validateReport } from '../src/validate.js';
import { demoReport, memoryIo } from './helpers/sessions.js';

/**
 * The demo call with a recording and offsets, and two turns with several replies: in turn 2 a
 * second reply cut off before its audio (no recording_offset), in turn 3 two replies with none.
 */
function recordedReport(): SessionReportJson {
  const report = demoReport();
  const v = report.voicetrace;
  const start = v.started_at!;
  v.recording = { path: 'recording.ogg', started_at: start, uploads: [] };
  for (const t of v.turns) {
    if (t.user) t.user.recording_offset = (t.user.speech_start ?? t.user.started_at) - start;
    for (const r of t.replies) if (r.first_audio_at !== undefined) r.recording_offset = r.first_audio_at - start;
  }
  const turn2 = v.turns.find((t) => t.index === 2)!;
  turn2.replies.push({ ...structuredClone(turn2.replies[0]!), speech_id: 'speech_cut_off', recording_offset: undefined, first_audio_at: undefined, interrupted: true });
  delete turn2.replies[1]!.recording_offset;
  delete turn2.replies[1]!.first_audio_at;
  const turn3 = v.turns.find((t) => t.index === 3)!;
  turn3.replies.push({ ...structuredClone(turn3.replies[0]!), speech_id: 'speech_second' });
  for (const r of turn3.replies) delete r.recording_offset;
  return report;
}

const CLIPS: readonly TurnClipInput[] = (
  [
    { turn: 1, side: 'user', offset: 0.5, path: 'clips/turn-001-user.wav', duration: 1.2 },
    { turn: 1, side: 'agent', offset: 2, path: 'clips/turn-001-agent.wav', url: 'https://bucket.example/s/turn-001-agent.wav', duration: 3 },
    { turn: 2, side: 'agent', offset: 6, path: 'clips/turn-002-agent.wav', duration: 2 },
    { turn: 3, side: 'agent', offset: 12, url: 'https://bucket.example/s/turn-003-agent.wav?a=1&b="2"', duration: 2 },
    { turn: 4, side: 'user', offset: 15, skipped: 'budget_exceeded' },
    { turn: 0, side: 'user', offset: 0, skipped: 'recording_ended' }, // turn 0 has no user
    { turn: 99, side: 'agent', offset: 80, path: 'clips/turn-099-agent.wav', duration: 1 }, // left out of `turns`
  ] satisfies TurnClipInput[]
).map((c) => Object.freeze(c));

const turnOf = (report: SessionReportJson, index: number) => report.voicetrace.turns.find((t) => t.index === index)!;

describe('attachClips', () => {
  it('puts each clip on its turn: the user side on the user, the agent side on the reply that played', () => {
    const result = attachClips(recordedReport(), CLIPS, { duration_ms: 42 });
    expect(turnOf(result, 1).user!.clip).toStrictEqual({ offset: 0.5, path: 'clips/turn-001-user.wav', duration: 1.2 });
    expect(turnOf(result, 1).replies[0]!.clip).toStrictEqual({ offset: 2, path: 'clips/turn-001-agent.wav', url: 'https://bucket.example/s/turn-001-agent.wav', duration: 3 });
    // turn 2: the reply with a recording offset, not the later one cut off before its audio
    expect(turnOf(result, 2).replies.map((r) => r.clip?.path)).toEqual(['clips/turn-002-agent.wav', undefined]);
    // turn 3: no reply has an offset, so its last reply
    expect(turnOf(result, 3).replies.map((r) => r.clip?.offset)).toEqual([undefined, 12]);
    expect(turnOf(result, 4).user!.clip).toStrictEqual({ offset: 15, skipped: 'budget_exceeded' });
    expect(turnOf(result, 4).replies[0]!.clip).toBeUndefined();
    expect(turnOf(result, 0).user).toBeUndefined();
    // every clip asked for is counted, attached or not (turn 0's user, turn 99 left out)
    expect(result.voicetrace.recording!.clips).toStrictEqual({ cut: 5, skipped: { budget_exceeded: 1, recording_ended: 1 }, duration_ms: 42 });
    expect(result.voicetrace.recording!.path).toBe('recording.ogg');
  });

  it('never mutates its input, and the result validates against the schema', () => {
    const input = recordedReport();
    const before = structuredClone(input);
    const result = attachClips(input, CLIPS, { duration_ms: 42 });
    expect(input).toStrictEqual(before);
    expect(result).not.toBe(input);
    expect(JSON.parse(JSON.stringify(result))).toStrictEqual(result); // nothing undefined left in
    expect(validateReport(input)).toEqual([]);
    expect(validateReport(result)).toEqual([]);
    expect(validateReport(attachClips(demoReport(), []))).toEqual([]); // no recording before: one made for the summary
  });

  it('keeps the last clip of a turn and side, clamps rounding below 0 and drops empty fields', () => {
    const result = attachClips(recordedReport(), [
      { turn: 1, side: 'user', offset: 1, skipped: 'decode_failed' },
      { turn: 1, side: 'user', offset: -0.0001, path: 'clips/u.wav', url: '', skipped: '', duration: 0.8 },
    ]);
    expect(turnOf(result, 1).user!.clip).toStrictEqual({ offset: 0, path: 'clips/u.wav', duration: 0.8 });
    expect(result.voicetrace.recording!.clips).toStrictEqual({ cut: 1, skipped: {}, duration_ms: 0 });
    expect(validateReport(result)).toEqual([]);
  });

  it('the schema takes clips in step with the types', () => {
    const result = attachClips(recordedReport(), CLIPS);
    const broken = structuredClone(result);
    delete (turnOf(broken, 1).user!.clip as { offset?: number }).offset;
    (turnOf(broken, 1).replies[0]!.clip as unknown as Record<string, unknown>).extra = 1;
    broken.voicetrace.recording!.clips!.cut = -1;
    expect(validateReport(broken).map((p) => p.path)).toEqual(
      expect.arrayContaining(['/voicetrace/turns/1/user/clip', '/voicetrace/turns/1/replies/0/clip', '/voicetrace/recording/clips/cut']),
    );
  });
});

/** The transcript block of one turn. */
function transcriptTurn(html: string, index: number): string {
  const start = html.indexOf(`<li class="t-turn" id="turn-${index}">`);
  expect(start).toBeGreaterThan(-1);
  return html.slice(start, html.indexOf('</li>', start));
}

describe('report.html with clips', () => {
  it('plays each turn on its own: a labelled player per clip, its file before its upload, escaped', () => {
    const report = attachClips(recordedReport(), CLIPS);
    const html = renderReportHtml(report);
    const turn1 = transcriptTurn(html, 1);
    expect(turn1).toContain('<div class="meta" data-vt="clip" data-side="user">Caller 1.2 s<audio controls preload="none" src="clips/turn-001-user.wav" aria-label="Caller, turn 1 1.2 s"></audio></div>');
    expect(turn1).toContain('data-side="agent">Agent 3.0 s<audio controls preload="none" src="clips/turn-001-agent.wav"');
    expect(turn1).not.toContain('bucket.example'); // the file is preferred
    expect(transcriptTurn(html, 2).match(/<audio /g)).toHaveLength(1);
    expect(transcriptTurn(html, 3)).toContain('src="https://bucket.example/s/turn-003-agent.wav?a=1&amp;b=%222%22"');
    // a skipped clip: its reason, and the time button still seeks the whole recording
    const turn4 = transcriptTurn(html, 4);
    expect(turn4).toContain('<div class="meta" data-vt="clip-skipped">clip skipped: budget_exceeded</div>');
    expect(turn4).toMatch(/<button type="button" class="seek" data-seek data-turn="4" data-offset="[\d.]+" aria-label="Play the user from/);
    expect(turn4).not.toContain('<audio');
    // the recording player stays; the CSP allows the clips' upload origin beside 'self'
    expect(html).toContain('<audio id="vt-audio" controls preload="metadata" src="recording.ogg">');
    expect(/media-src ([^;]+);/.exec(html)![1]).toBe("'self' file: blob: data: https://bucket.example");
  });

  it('escapes a clip path and a skipped reason, and never plays a non-http(s) upload', () => {
    const report = attachClips(demoReport(), [
      { turn: 1, side: 'user', offset: 1, path: 'clips/turn 1 "a"&<b>#.wav' },
      { turn: 1, side: 'agent', offset: 2, url: 'javascript:alert(1)', skipped: '</div><script>alert(2)</script>' },
    ]);
    const html = renderReportHtml(report);
    const turn1 = transcriptTurn(html, 1);
    expect(turn1).toContain('src="clips/turn%201%20%22a%22%26%3Cb%3E%23.wav"');
    expect(turn1).toContain('clip skipped: &lt;/div&gt;&lt;script&gt;alert(2)&lt;/script&gt;');
    expect(html).not.toContain('javascript:');
    expect(html.match(/<script/g)).toHaveLength(1);
    // no recording in this report: the clips alone open media-src, to the page's own files
    expect(/media-src ([^;]+);/.exec(html)![1]).toBe("'self' file: blob: data:");
  });

  it('places a clip beside the page, or by file:// URL when the page is written elsewhere', () => {
    const report = attachClips(demoReport(), [{ turn: 1, side: 'user', offset: 1, path: 'clips/turn-001-user.wav' }]);
    expect(transcriptTurn(renderReportHtml(report, { htmlPath: '/calls/x/report.html' }), 1)).toContain('src="clips/turn-001-user.wav"');
    const absolute = structuredClone(report);
    turnOf(absolute, 1).user!.clip!.path = '/calls/x/clips/turn-001-user.wav';
    expect(transcriptTurn(renderReportHtml(absolute, { htmlPath: '/calls/x/report.html' }), 1)).toContain('src="clips/turn-001-user.wav"');
    expect(transcriptTurn(renderReportHtml(absolute, { htmlPath: '/elsewhere/report.html' }), 1)).toContain('src="file:///calls/x/clips/turn-001-user.wav"');
  });

  it('renders a report without clips exactly as before: no player, no note in the turns', () => {
    const old = recordedReport();
    const html = renderReportHtml(old);
    expect(html.match(/<audio/g)).toHaveLength(1); // the recording's player only
    for (const t of old.voicetrace.turns) expect(transcriptTurn(html, t.index)).not.toMatch(/<audio|clip skipped|data-vt="clip/);
    // the clip code adds nothing when there is nothing to show (a summary alone is not rendered)
    expect(renderReportHtml(attachClips(old, []))).toBe(html);
    const plain = demoReport();
    expect(renderReportHtml(attachClips(plain, []))).toBe(renderReportHtml(plain));
    expect(renderReportHtml(plain)).toContain("media-src 'none'");
  });
});

describe('voicetrace report with clips', () => {
  const root = mkdtempSync(join(tmpdir(), 'voicetrace-clips-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('keeps clip paths relative to report.json when the page is written elsewhere (-o)', async () => {
    const input = join(root, 'call');
    mkdirSync(join(input, 'clips'), { recursive: true });
    writeFileSync(join(input, 'report.json'), JSON.stringify(attachClips(demoReport(), [{ turn: 1, side: 'user', offset: 1, path: 'clips/turn-001-user.wav' }])));
    const run = async (argv: string[]) => {
      const io = memoryIo({ cwd: root });
      expect(await runCli(argv, io.io)).toBe(EXIT.OK);
    };
    await run(['report', join(input, 'report.json')]);
    expect(transcriptTurn(readFileSync(join(input, 'report.html'), 'utf8'), 1)).toContain('src="clips/turn-001-user.wav"');
    await run(['report', join(input, 'report.json'), '-o', join(root, 'out', 'page.html')]);
    expect(transcriptTurn(readFileSync(join(root, 'out', 'page.html'), 'utf8'), 1)).toContain(`src="${pathToFileURL(join(input, 'clips', 'turn-001-user.wav')).href}"`);
  });
});
