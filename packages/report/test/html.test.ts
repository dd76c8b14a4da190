import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SCRIPT, STYLE } from '../src/html/assets.js';
import { formatLatency, formatUsd } from '../src/html/format.js';
import { renderReportHtml } from '../src/html/render.js';
import type { SessionReportJson } from '../src/types.js';
import { demoReport, rng } from './helpers/sessions.js';

const HOSTILE = '</script><script>alert(1)</script><img src=x onerror="alert(2)"> & \' "';

function hostileReport(): SessionReportJson {
  const report = demoReport();
  const v = report.voicetrace;
  const turn = v.turns.find((t) => t.index === 1)!;
  turn.user!.transcript = HOSTILE;
  const reply = turn.replies[0]!;
  reply.text = HOSTILE;
  reply.agent = `<b>${HOSTILE}</b>`;
  reply.tools[0]!.arguments = HOSTILE;
  reply.tools[0]!.output = `</pre>${HOSTILE}`;
  reply.wait[0]!.key = HOSTILE;
  reply.wait[1]!.owner = HOSTILE;
  turn.errors.push({ at: v.started_at! + 3, source: HOSTILE, message: HOSTILE, recoverable: true });
  turn.logs.push({ at: v.started_at! + 3, level: HOSTILE, message: HOSTILE });
  v.service_name = HOSTILE;
  v.trace.links = { [HOSTILE]: 'javascript:alert(3)', ok: 'https://example.com/trace/1?a=<b>&c="d"' };
  v.usage[0]!.model = HOSTILE;
  v.handoffs[0]!.to_agent = HOSTILE;
  v.turns[0]!.handoffs[0]!.to_agent = HOSTILE;
  return report;
}

describe('renderReportHtml', () => {
  it('escapes every string from the report: a transcript holding </script> stays text', () => {
    const html = renderReportHtml(hostileReport());
    expect(html.match(/<script/g)).toHaveLength(1); // ours only
    expect(html).not.toMatch(/<img/);
    expect(html).not.toMatch(/<\/script><script>alert/);
    expect(html).not.toMatch(/onerror="alert/);
    expect(html).toContain('&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toMatch(/href="javascript:/i); // a non-http link is shown as text
    expect(html).toContain('href="https://example.com/trace/1?a=%3Cb%3E&amp;c=%22d%22"');
    expect(html.match(/<\/pre>/g)?.length).toBe(html.match(/<pre>/g)?.length);
  });

  it('is self-contained: a CSP that allows only its own style and script (by hash), no external resource', () => {
    const html = renderReportHtml(demoReport());
    const hash = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;
    const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)![1]!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain(`style-src ${hash(STYLE)}`);
    expect(csp).toContain(`script-src ${hash(SCRIPT)}`);
    expect(csp).toContain("media-src 'none'"); // no recording in this report
    expect(html).toContain(`<style>${STYLE}</style>`);
    expect(html).toContain(`<script>${SCRIPT}</script>`);
    // the only URLs: the trace link (an <a>, never loaded) and the SVG namespace-free markup
    expect(html.match(/\s(?:src|href)="[^"#][^"]*"/g)).toEqual([' href="data:,"', ` href="${demoReport().voicetrace.trace.links.jaeger}"`]);
    expect(html).not.toMatch(/@import|url\((?!#)/);
    expect(html).not.toMatch(/\sstyle="/); // inline style attributes would need 'unsafe-inline'
  });

  it('has one waterfall row per turn, each reply e2e and cost, the percentiles and the usage', () => {
    const report = demoReport();
    const html = renderReportHtml(report);
    expect(html.match(/<div class="wf-row"/g)).toHaveLength(report.voicetrace.turns.length);
    for (const reply of report.voicetrace.turns.flatMap((t) => t.replies)) {
      expect(html).toContain(`data-speech="${reply.speech_id}" data-value="${reply.latency!.e2e}">${formatLatency(reply.latency!.e2e)}</span>`);
    }
    expect(formatLatency(1.3840000629425049)).toBe('1384 ms');
    expect(formatUsd(0.0347916)).toBe('$0.0348');
    expect(formatUsd(0.002874966666666667)).toBe('$0.00287');
    // the page shows the report's figures as they are (the fixture: the demo call at seed 42)
    const v = report.voicetrace;
    expect(html).toContain(`data-vt="cost" data-value="${v.cost}">${formatUsd(v.cost)}</dd>`);
    expect(html).toContain(`data-vt="latency.e2e.p95" data-value="${v.latency.e2e!.p95}">${formatLatency(v.latency.e2e!.p95!)}</td>`);
    expect(html).toContain(`data-vt="wait.llm_ttft.p50" data-value="${v.wait.llm_ttft!.p50}">${formatLatency(v.wait.llm_ttft!.p50!)}</td>`);
    expect(html).toContain('openai / gpt-4o-mini');
    const llm = v.usage.find((u) => u.type === 'llm_usage') as unknown as { input_tokens: number; input_cached_tokens: number; output_tokens: number };
    expect(html).toContain(`${llm.input_tokens.toLocaleString('en-US')} input tokens (${llm.input_cached_tokens.toLocaleString('en-US')} cached) · ${llm.output_tokens.toLocaleString('en-US')} output tokens`);
    expect(html).not.toContain('Content was left out');
  });

  it('opens with what went wrong: every flagged turn, linked to its waterfall row, with the report\'s totals', () => {
    const report = demoReport();
    const html = renderReportHtml(report);
    const flagged = report.voicetrace.turns.filter((t) => t.signals?.length);
    expect(flagged.length).toBeGreaterThan(0);
    expect(html.indexOf('id="went-wrong"')).toBeLessThan(html.indexOf('id="waterfall"'));
    for (const t of flagged) {
      expect(html).toContain(`<a href="#turn-${t.index}">Turn ${t.index}</a>`);
      expect(html).toContain(`<li id="turn-${t.index}">`);
      for (const signal of t.signals!) expect(html).toContain(`data-vt="signal" data-signal="${signal.name}"`);
    }
    for (const [name, x] of Object.entries(report.voicetrace.signals ?? {})) expect(html).toContain(`data-vt="signal-total" data-signal="${name}" data-value="${x.count}"`);
    report.voicetrace.signals = {};
    for (const t of report.voicetrace.turns) delete t.signals;
    expect(renderReportHtml(report)).toContain('data-vt="signals-none"');
  });

  it('says content was left out when PII was not allowed', () => {
    const report = demoReport();
    report.voicetrace.pii_included = false;
    for (const t of report.voicetrace.turns) {
      if (t.user) delete t.user.transcript;
      for (const r of t.replies) {
        delete r.text;
        for (const tool of r.tools) {
          delete tool.arguments;
          delete tool.output;
        }
      }
    }
    const html = renderReportHtml(report);
    expect(html).toMatch(/Content was left out: this report was written with PII not allowed/);
    expect(html.match(/content not included/g)!.length).toBeGreaterThanOrEqual(12 + 2);
  });

  it('links the recording relatively beside the page, else by file:// URL or its upload, and seeks by offset', () => {
    const report = demoReport();
    const start = report.voicetrace.started_at!;
    report.voicetrace.recording = { path: '/data/calls/x/recording.ogg', started_at: start, uploads: [] };
    const beside = renderReportHtml(report, { htmlPath: '/data/calls/x/report.html' });
    expect(beside).toContain('<audio id="vt-audio" controls preload="metadata" src="recording.ogg">');
    expect(beside).toContain("media-src 'self' file: blob: data:");
    const user = report.voicetrace.turns[1]!.user!;
    expect(beside).toContain(`data-turn="1" data-offset="${(user.speech_start! - start).toFixed(3)}"`);
    expect(renderReportHtml(report, { htmlPath: '/elsewhere/report.html' })).toContain('src="file:///data/calls/x/recording.ogg"');
    expect(renderReportHtml(report, { htmlPath: '/data/calls/report.html' })).toContain('src="x/recording.ogg"');
    report.voicetrace.recording = { uploads: [{ what: 'recording', status: 'uploaded', url: 'https://bucket.example/r.ogg', attempts: 1 }] };
    const uploaded = renderReportHtml(report);
    expect(uploaded).toContain('src="https://bucket.example/r.ogg"');
    expect(uploaded).toContain("media-src 'self' https://bucket.example");
    expect(uploaded).toMatch(/positions assume it started with the session/);
  });

  it('renders a minimal report (no turns, no usage) without failing', () => {
    const report = demoReport();
    Object.assign(report.voicetrace, { turns: [], usage: [], latency: {}, wait: {}, handoffs: [] });
    const html = renderReportHtml(report);
    expect(html).toContain('No latency figures in this report.');
    expect(html).toContain('No usage in this report.');
  });

  it('never throws and never lets markup through on broken reports (seeded fuzz: hostile strings, NaN, nulls, wrong types anywhere)', () => {
    const random = rng(2024);
    const evil = '"><img src=x onerror=alert(1)></script><script>alert(2)</script>';
    const mutate = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(mutate);
      if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mutate(v)]));
      const r = random();
      if (r < 0.04) return evil;
      if (r < 0.06) return null;
      if (typeof value === 'number') return r < 0.1 ? NaN : r < 0.14 ? value * 1e9 : r < 0.18 ? -value : r < 0.2 ? 1e308 : value;
      return value;
    };
    for (let i = 0; i < 300; i++) {
      const report = mutate(demoReport()) as SessionReportJson;
      if (i % 2) report.voicetrace.recording = { path: evil, started_at: report.voicetrace.started_at as number, uploads: [] };
      const html = renderReportHtml(report, { htmlPath: '/tmp/x/report.html' });
      expect(html.match(/<script/g), `case ${i}`).toHaveLength(1);
      expect(html, `case ${i}`).not.toMatch(/<img/); // the text 'onerror=alert' stays, escaped, inside content
    }
  });
});
