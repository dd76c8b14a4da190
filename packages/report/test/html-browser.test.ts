// The HTML report in a real headless browser (Debian's chromium driven by playwright-core, which
// never downloads a browser here): rows, figures, no request, seeking, keyboard, a phone's width.
import { backendOrSkip, CHROMIUM_HEADLESS_ARGS, repoRoot } from '@voicetrace/test-backends';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, runCli } from '../src/cli/run.js';
import type { SessionReportJson } from '../src/types.js';
import { demoReport, memoryIo } from './helpers/sessions.js';

const chromiumPath = await backendOrSkip('chromium');

/** A mono 16-bit PCM WAV: a quiet 220 Hz tone, so the player has something real to decode. */
function wav(seconds: number, rate = 8000): Buffer {
  const samples = Math.round(seconds * rate);
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) data.writeInt16LE(Math.round(Math.sin((2 * Math.PI * 220 * i) / rate) * 800), i * 2);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

describe.skipIf(!chromiumPath)('the HTML report in headless Chromium', () => {
  let dir: string;
  let htmlUrl: string;
  let wavUrl: string;
  let report: SessionReportJson;
  let browser: Browser;
  const requests: string[] = [];
  const problems: string[] = [];

  /** A page on the report that records every request (allowing none but the page and its recording) and every console error. */
  async function open(width: number): Promise<Page> {
    const page = await browser.newPage({ viewport: { width, height: 900 } });
    page.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await page.route('**/*', (route) => {
      const url = route.request().url();
      return url === htmlUrl || url === wavUrl ? route.continue() : route.abort();
    });
    await page.goto(htmlUrl);
    return page;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'voicetrace-html-'));
    report = demoReport();
    const v = report.voicetrace;
    // the recording sits beside the report, started 2 s before the session; offsets as the writer sets them
    const start = v.started_at! - 2;
    writeFileSync(join(dir, 'recording.wav'), wav(v.duration! + 4));
    v.recording = { path: join(dir, 'recording.wav'), started_at: start, duration: v.duration! + 4, uploads: [] };
    for (const t of v.turns) {
      if (t.user?.speech_start !== undefined) t.user.recording_offset = t.user.speech_start - start;
      for (const r of t.replies) if (r.first_audio_at !== undefined) r.recording_offset = r.first_audio_at - start;
    }
    writeFileSync(join(dir, 'report.json'), JSON.stringify(report, null, 2));
    const io = memoryIo();
    expect(await runCli(['report', join(dir, 'report.json')], io.io)).toBe(EXIT.OK);
    htmlUrl = pathToFileURL(join(dir, 'report.html')).href;
    wavUrl = pathToFileURL(join(dir, 'recording.wav')).href;
    // never a downloaded browser: the system's chromium only
    browser = await chromium.launch({ executablePath: chromiumPath!, args: [...CHROMIUM_HEADLESS_ARGS] });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows one waterfall row per turn and the report figures: e2e per reply, cost, p95', async () => {
    const page = await open(1280);
    expect(await page.locator('.wf-row').count()).toBe(report.voicetrace.turns.length);
    for (const reply of report.voicetrace.turns.flatMap((t) => t.replies)) {
      const shown = await page.locator(`.wf-row [data-vt="e2e"][data-speech="${reply.speech_id}"]`).textContent();
      expect(shown, reply.speech_id).toBe(`${Math.round(reply.latency!.e2e! * 1000)} ms`);
    }
    expect(await page.locator('[data-vt="cost"]').textContent()).toBe('$0.0348'); // 0.0347892
    expect(await page.locator('[data-vt="usage-total"]').textContent()).toBe('$0.0348');
    const p95 = report.voicetrace.latency;
    for (const stage of ['e2e', 'llm_ttft', 'tts_ttfb', 'eou_delay']) {
      expect(await page.locator(`[data-vt="latency.${stage}.p95"]`).textContent(), stage).toBe(`${Math.round(p95[stage]!.p95! * 1000)} ms`);
    }
    // the wait slices of each reply are drawn end to end and add up to its e2e
    const widths = await page.evaluate(() => [...document.querySelectorAll('.wf-row')].map((row) => [...row.querySelectorAll('rect[class^="o-"]')].map((r) => Number(r.getAttribute('width')))));
    expect(widths.filter((w) => w.length).length).toBe(report.voicetrace.turns.filter((t) => t.replies.some((r) => r.wait.length)).length);
    await page.close();
  });

  it('makes no network request, and logs no error', async () => {
    const page = await open(1280);
    await page.waitForFunction(() => (document.getElementById('vt-audio') as HTMLAudioElement).readyState >= 1);
    await page.close();
    expect(requests.length).toBeGreaterThan(0);
    expect([...new Set(requests)].filter((url) => url !== htmlUrl && url !== wavUrl)).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('seeks the recording to a turn on click, and on Enter or Space from the keyboard, with a visible focus', async () => {
    const page = await open(1280);
    const audio = () => page.evaluate(() => (document.getElementById('vt-audio') as HTMLAudioElement).currentTime);
    const pause = () => page.evaluate(() => (document.getElementById('vt-audio') as HTMLAudioElement).pause());
    const offsetOf = (index: number) => report.voicetrace.turns.find((t) => t.index === index)!.user!.recording_offset!;
    const near = async (expected: number) => {
      await page.waitForFunction((o) => Math.abs((document.getElementById('vt-audio') as HTMLAudioElement).currentTime - o) < 0.6, expected);
      await pause();
      const at = await audio();
      expect(at).toBeGreaterThanOrEqual(expected - 0.05);
      expect(at).toBeLessThan(expected + 0.6);
    };
    await page.locator('.wf-row[data-turn="3"] .wf-head').click();
    await near(offsetOf(3));
    expect(await page.locator('.wf-row[data-turn="3"]').getAttribute('aria-current')).toBe('true');

    // keyboard: Tab reaches the turn rows (after the links and the player); Enter and Space activate
    await page.locator('body').click({ position: { x: 1, y: 1 } });
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    let focused = '';
    for (let i = 0; i < 40 && focused !== '1'; i++) {
      await page.keyboard.press('Tab');
      focused = (await page.evaluate(() => (document.activeElement?.classList.contains('wf-row') ? document.activeElement.getAttribute('data-turn') : ''))) ?? '';
    }
    expect(focused).toBe('1');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    expect(outline).not.toBe('none');
    await page.keyboard.press('Enter');
    await near(offsetOf(1));
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-turn'))).toBe('3');
    await page.keyboard.press(' ');
    await near(offsetOf(3));
    // a transcript time button seeks too (a real <button>: Enter works natively)
    const reply = report.voicetrace.turns.find((t) => t.index === 5)!.replies[0]!;
    await page.locator(`#turn-5 .msg.agent .seek`).click();
    await near(reply.recording_offset!);
    await page.close();
    expect(problems).toEqual([]);
  });

  it('fits a 375 px phone: no horizontal page overflow, the waterfall scrolls inside itself; keeps a screenshot', async () => {
    const page = await open(375);
    const sizes = await page.evaluate(() => {
      const scroller = document.querySelector('.wf-scroll')!;
      return { page: document.documentElement.scrollWidth, viewport: document.documentElement.clientWidth, waterfall: scroller.scrollWidth, waterfallBox: scroller.clientWidth, scrolledTo: scroller.scrollLeft };
    });
    expect(sizes.page).toBeLessThanOrEqual(sizes.viewport);
    expect(sizes.waterfall).toBeGreaterThan(sizes.waterfallBox);
    expect(sizes.scrolledTo).toBeGreaterThan(0); // starts near 0 s (the end of the user's speech)
    const artifacts = join(repoRoot(), 'test-artifacts');
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'report-375px.png'), fullPage: true });
    await page.close();
    const wide = await open(1280);
    const shot = join(artifacts, 'report.png');
    await wide.screenshot({ path: shot, fullPage: true });
    await wide.close();
    console.info(`[report] screenshot: ${shot} (and report-375px.png beside it)`);
    expect(problems).toEqual([]);
  });
});
