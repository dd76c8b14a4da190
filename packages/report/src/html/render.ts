import { createHash } from 'node:crypto';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LATENCY_STAGES, WAIT_CONTRIBUTIONS, WAIT_OWNER_LABELS } from '@voicetrace/conventions';
import type { Percentiles, ReportClip, ReportReply, ReportTurn, SessionReportJson, WaitSlice } from '../types.js';
import { SCRIPT, STYLE } from './assets.js';
import { classToken, esc, safeHttpUrl } from './escape.js';
import { formatCount, formatDuration, formatEpoch, formatLatency, formatOffset, formatUsd } from './format.js';

/** How {@link renderReportHtml} places the page and its recording. */
export interface RenderOptions {
  /**
   * Where the HTML file will be written. A local recording in the same directory (or below) is
   * then referenced relatively (the page and its recording can be moved together); elsewhere by
   * its absolute `file://` URL. A relative recording path in the report is taken relative to it.
   */
  htmlPath?: string | undefined;
  /** The player's source, as is (a URL, or a path relative to the HTML); overrides the report's recording. */
  recordingSrc?: string | undefined;
  /** The page title (default: the session id). */
  title?: string | undefined;
}

/** The wait contributions' labels, by key (WAIT_CONTRIBUTIONS, in the order they happen). */
const WAIT_LABELS: Readonly<Record<string, string>> = Object.fromEntries(WAIT_CONTRIBUTIONS.map((c) => [c.key, c.label]));

/** Who owns a wait slice, in words (WAIT_OWNER_LABELS, in the order the owners first appear). */
const OWNER_LABELS: Readonly<Record<string, string>> = WAIT_OWNER_LABELS;
const KNOWN_OWNERS = new Set(Object.keys(OWNER_LABELS));

/**
 * The session report as one self-contained HTML page: no request of any kind when opened
 * (inline CSS, script and SVG; a Content-Security-Policy that allows nothing else, except the
 * recording and per-turn clips when the report has them). Every string from the report is escaped.
 */
export function renderReportHtml(report: SessionReportJson, options: RenderOptions = {}): string {
  const v = report.voicetrace;
  const turns = Array.isArray(v?.turns) ? v.turns : [];
  const recording = recordingSource(report, options);
  const recordingStart = finite(v.recording?.started_at) ?? (finite(report.audio_recording_started_at) !== undefined ? report.audio_recording_started_at! / 1000 : undefined);
  const approximateOffsets = recording !== undefined && recordingStart === undefined;
  const recordingOrigin = recordingStart ?? finite(v.started_at);
  const offsetOf = (stored: number | undefined, at: number | undefined): number | undefined => {
    if (!recording) return undefined;
    if (finite(stored) !== undefined) return Math.max(0, stored!);
    if (finite(at) === undefined || recordingOrigin === undefined) return undefined;
    return Math.max(0, at! - recordingOrigin);
  };
  const clipSrc = clipSource(options);
  const ctx: Ctx = { report, turns, offsetOf, linkFor: turnLinks(report), clipSrc };
  const mediaSrc = mediaSources([recording, ...turns.flatMap((t) => [t.user?.clip, ...(t.replies ?? []).map((r) => r?.clip)]).map(clipSrc)]);
  const csp = [
    "default-src 'none'",
    `style-src '${sha256(STYLE)}'`,
    `script-src '${sha256(SCRIPT)}'`,
    'img-src data:',
    `media-src ${mediaSrc}`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
  const title = options.title ?? `Voice session ${v.session_id}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${csp.replace(/[&"<>]/g, (c) => esc(c))}">
<meta name="referrer" content="no-referrer">
<meta name="generator" content="${esc(v.generator)}">
<link rel="icon" href="data:,">
<title>${esc(title)} · voicetrace</title>
<style>${STYLE}</style>
</head>
<body>
<svg class="defs" width="0" height="0" aria-hidden="true" focusable="false"><defs><pattern id="vt-hatch" width="5" height="5" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><line class="hatch-line" x1="0" y1="0" x2="0" y2="5"></line></pattern></defs></svg>
${header(ctx)}
<main>
${wentWrong(ctx)}
${recording ? recordingSection(recording, approximateOffsets) : ''}
${waterfall(ctx, recording !== undefined)}
${latencySection(v.latency ?? {}, v.wait ?? {})}
${transcript(ctx)}
${usageSection(v.usage ?? [], v.cost)}
</main>
<footer>
<p>Written by ${esc(v.generator)}. Durations in milliseconds or seconds; times in UTC. Costs are estimates at list prices, not a bill.
${v.turns_dropped ? `${formatCount(v.turns_dropped)} turns of this long call were left out of the per-turn detail (still counted in the statistics).` : ''}</p>
</footer>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

interface Ctx {
  report: SessionReportJson;
  turns: ReportTurn[];
  offsetOf: (stored: number | undefined, at: number | undefined) => number | undefined;
  linkFor: (traceId: string | undefined) => Array<[string, string]>;
  /** A clip's player source, when it can play (a file, else its upload). */
  clipSrc: (clip: ReportClip | undefined) => string | undefined;
}

// ---- header -------------------------------------------------------------------------------

function header(ctx: Ctx): string {
  const v = ctx.report.voicetrace;
  const agents = agentsOf(ctx.turns, v.handoffs ?? []);
  const e2e = v.latency?.e2e;
  const sub = [v.service_name && `service ${esc(v.service_name)}`, v.environment && `environment ${esc(v.environment)}`, v.started_at !== undefined && `started ${esc(formatEpoch(v.started_at))}`, ctx.report.room && `room ${esc(ctx.report.room)}`, ctx.report.job_id && `job ${esc(ctx.report.job_id)}`]
    .filter(Boolean)
    .join(' · ');
  const stat = (label: string, value: string, vt: string, raw?: number) =>
    `<div><dt>${label}</dt><dd data-vt="${vt}"${finite(raw) !== undefined ? ` data-value="${raw}"` : ''}>${value}</dd></div>`;
  const links = Object.entries(v.trace?.links ?? {});
  const linkHtml = links
    .map(([name, href]) => {
      const url = safeHttpUrl(href);
      return url ? `<a href="${esc(url)}" rel="noopener noreferrer" target="_blank">${esc(name)}</a>` : `<span>${esc(name)}: <code>${esc(href)}</code></span>`;
    })
    .join(' ');
  return `<header>
<h1>Voice session <code>${esc(v.session_id)}</code></h1>
<p class="sub">${sub || '&nbsp;'}</p>
<dl class="stats">
${stat('Duration', esc(formatDuration(v.duration)), 'duration', finite(v.duration))}
${stat(agents.length > 1 ? 'Agents' : 'Agent', agents.length ? agents.map(esc).join(' → ') : '–', 'agents')}
${stat('User turns', formatCount(v.user_turns), 'user-turns', v.user_turns)}
${stat('Replies', formatCount(v.replies), 'replies', v.replies)}
${stat('Interruptions', formatCount(v.interruptions), 'interruptions', v.interruptions)}
${v.errors ? stat('Errors', formatCount(v.errors), 'errors', v.errors) : ''}
${stat('Estimated cost', esc(formatUsd(v.cost)), 'cost', finite(v.cost))}
${e2e?.count ? stat('e2e p50 / p95', `${esc(formatLatency(e2e.p50))} / ${esc(formatLatency(e2e.p95))}`, 'e2e-summary') : ''}
</dl>
<p class="links">${v.trace?.trace_id ? `Trace <code>${esc(v.trace.trace_id)}</code>${v.trace.mode === 'turn' ? ' (one trace per turn)' : ''} ` : ''}${linkHtml}</p>
${v.pii_included ? '' : '<p class="note">Content was left out: this report was written with PII not allowed, so what the user and the agent said, tool arguments and outputs are not in it. Timings, usage and costs are complete.</p>'}
<nav class="toc" aria-label="Sections"><a href="#waterfall">Turn waterfall</a><a href="#latency">Latency percentiles</a><a href="#transcript">Transcript</a><a href="#usage">Usage and cost</a></nav>
</header>`;
}

function agentsOf(turns: ReportTurn[], handoffs: Array<{ to_agent: string; from_agent?: string }>): string[] {
  const seen: string[] = [];
  const add = (name: string | undefined) => {
    if (name && !seen.includes(name)) seen.push(name);
  };
  for (const h of handoffs) {
    add(h.from_agent);
    add(h.to_agent);
  }
  for (const t of turns) for (const r of t.replies) add(r.agent);
  return seen;
}

// ---- recording ----------------------------------------------------------------------------

function recordingSection(src: string, approximate: boolean): string {
  return `<section id="recording" aria-labelledby="recording-h">
<h2 id="recording-h">Recording</h2>
<audio id="vt-audio" controls preload="metadata" src="${esc(src)}">Your browser cannot play this recording: <a href="${esc(src)}">open it</a>.</audio>
<p class="muted">Click a turn in the waterfall (or focus it and press Enter or Space), or a time in the transcript, to play the call from there.${approximate ? ' The recording start time is not in the report: positions assume it started with the session.' : ''}</p>
</section>`;
}

/** The player's src: relative beside the HTML, else a file:// URL, else an uploaded http(s) URL. */
function recordingSource(report: SessionReportJson, options: RenderOptions): string | undefined {
  if (options.recordingSrc) return options.recordingSrc;
  const v = report.voicetrace;
  const local = [v.recording?.path, report.audio_recording_path].find((p): p is string => typeof p === 'string' && p.length > 0);
  if (local) return localSource(local, options);
  const uploaded = (v.recording?.uploads ?? []).find((u) => u.what === 'recording' && u.status === 'uploaded' && safeHttpUrl(u.url));
  return uploaded ? safeHttpUrl(uploaded.url) : undefined;
}

/** A file's src: relative when beside (or below) the HTML, else a file:// URL; a URL as is when http(s) or file:. */
function localSource(local: string, options: RenderOptions): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(local)) return local.startsWith('file:') || safeHttpUrl(local) ? local : undefined;
  const htmlDir = options.htmlPath ? dirname(resolve(options.htmlPath)) : undefined;
  const absolute = isAbsolute(local) ? local : htmlDir ? resolve(htmlDir, local) : undefined;
  if (!absolute) return local.split(/[\\/]/).map(encodeURIComponent).join('/');
  if (htmlDir) {
    const rel = relative(htmlDir, absolute);
    if (rel && !rel.startsWith('..') && !isAbsolute(rel)) return rel.split(sep).map(encodeURIComponent).join('/');
  }
  return pathToFileURL(absolute).href;
}

/** A clip's src: its file (relative to the report, which the HTML sits beside), else its http(s) upload. */
function clipSource(options: RenderOptions): (clip: ReportClip | undefined) => string | undefined {
  return (clip) => {
    if (clip === null || typeof clip !== 'object') return undefined;
    return (typeof clip.path === 'string' && clip.path ? localSource(clip.path, options) : undefined) ?? safeHttpUrl(clip.url);
  };
}

/** media-src for every player on the page: 'self' (and file: for a page opened from disk) or an upload's origin. */
function mediaSources(srcs: Array<string | undefined>): string {
  const tokens = new Set(srcs.flatMap((src) => (src ? mediaSource(src).split(' ') : [])));
  return tokens.size ? [...tokens].join(' ') : "'none'";
}

function mediaSource(src: string): string {
  const http = safeHttpUrl(src);
  return http ? `'self' ${new URL(http).origin}` : "'self' file: blob: data:";
}

// ---- waterfall ----------------------------------------------------------------------------

type Lane = 'user' | 'stt' | 'eou' | 'llm' | 'tool' | 'tts' | 'agent' | 'wait';
const LANE_LABEL: Record<Lane, string> = { user: 'user', stt: 'STT', eou: 'EOU', llm: 'LLM', tool: 'tools', tts: 'TTS', agent: 'agent', wait: 'wait' };
const LANE_H = 14;
const BAR_H = 10;

interface Bar {
  lane: Lane;
  from: number;
  to: number;
  cls: string;
  title: string;
}

interface RowModel {
  turn: ReportTurn;
  origin: number;
  originLabel: string;
  bars: Bar[];
  /** Instants (handoffs, errors, logs) drawn as ticks across the row. */
  marks: Array<{ at: number; cls: string; title: string }>;
  waits: Array<{ reply: ReportReply; slices: WaitSlice[] }>;
}

function rowModel(turn: ReportTurn): RowModel {
  const u = turn.user;
  const firstReply = turn.replies[0];
  const speechEnd = finite(u?.speech_end) ?? finite(u?.eou?.start);
  const origin = speechEnd ?? finite(u?.ended_at) ?? finite(firstReply?.started_at) ?? finite(turn.handoffs[0]?.at) ?? finite(u?.started_at) ?? 0;
  const originLabel = speechEnd !== undefined ? 'end of user speech' : u?.ended_at !== undefined ? 'end of user turn' : 'turn start';
  const bars: Bar[] = [];
  const add = (lane: Lane, from: number | undefined, to: number | undefined, cls: string, title: string) => {
    if (from === undefined || !Number.isFinite(from)) return;
    const end = to !== undefined && Number.isFinite(to) ? Math.max(from, to) : from;
    bars.push({ lane, from: from - origin, to: end - origin, cls, title });
  };
  const rel = (t: number | undefined) => (t === undefined ? '' : `${formatSigned(t - origin)}`);
  if (u) {
    const start = finite(u.speech_start) ?? finite(u.started_at);
    const end = finite(u.speech_end) ?? finite(u.speech_stopped_at) ?? finite(u.ended_at);
    add('user', start, end, 'b-user', `User speech${start !== undefined && end !== undefined ? ` ${formatLatency(end - start)}` : ''}`);
    for (const s of u.stt ?? []) add('stt', s.start, s.end, 'b-stt', `STT ${s.provider}/${s.model}: ${rel(s.start)} → final transcript ${rel(s.end)}${s.latency !== undefined ? `; ${formatLatency(s.latency)} after end of speech` : ''}`);
    if (u.eou) add('eou', u.eou.start, u.eou.end, 'b-eou', `End of utterance: ${formatLatency(u.eou.delay ?? u.eou.end - u.eou.start)} to the end-of-turn decision`);
  }
  for (const r of turn.replies) {
    for (const s of r.llm ?? []) {
      const first = finite(s.first_token_at);
      const label = `LLM ${s.provider}/${s.model}${s.speakable ? '' : ' (tool call)'}${s.cancelled ? ' (cancelled)' : ''}: request ${rel(s.request_start)}`;
      const tokens = `${formatCount(s.input_tokens)} in${s.cached_input_tokens ? ` (${formatCount(s.cached_input_tokens)} cached)` : ''} / ${formatCount(s.output_tokens)} out tokens`;
      const cancelled = s.cancelled ? ' b-cancelled' : '';
      if (first !== undefined) {
        add('llm', s.request_start, first, `b-llm${cancelled}`, `${label}, first token ${rel(first)} (TTFT ${formatLatency(s.ttft ?? first - s.request_start)}); ${tokens}`);
        add('llm', first, Math.max(first, s.end), `b-llm-stream${cancelled}`, `${label}, streaming until ${rel(s.end)}; ${tokens}`);
      } else add('llm', s.request_start, s.end, `b-llm${cancelled}`, `${label}, end ${rel(s.end)}; ${tokens}`);
    }
    for (const s of r.realtime ?? []) {
      const first = s.ttft !== undefined ? s.start + s.ttft : undefined;
      add('llm', s.start, first ?? s.end, 'b-llm', `Realtime ${s.provider}/${s.model}${s.ttft !== undefined ? `: first audio after ${formatLatency(s.ttft)}` : ''}`);
      if (first !== undefined) add('llm', first, s.end, 'b-llm-stream', `Realtime ${s.provider}/${s.model}: response until ${rel(s.end)}`);
    }
    for (const s of r.tools ?? []) add('tool', s.start, s.end, s.is_error ? 'b-tool-error' : 'b-tool', `Tool ${s.name ?? '(unnamed)'}${s.is_error ? ' (error)' : ''}: ${formatLatency(s.end - s.start)}`);
    for (const s of r.tts ?? []) {
      const first = finite(s.first_audio_at);
      const extra = `${s.duplicate ? ' (duplicate report, not counted)' : ''}${s.cancelled ? ' (cancelled)' : ''}`;
      const cls = `${s.duplicate ? ' b-dup' : ''}${s.cancelled ? ' b-cancelled' : ''}`;
      const label = `TTS ${s.provider}/${s.model}${extra}: text sent ${rel(s.text_sent_at)}`;
      if (first !== undefined) {
        add('tts', s.text_sent_at, first, `b-tts${cls}`, `${label}, first audio ${rel(first)} (TTFB ${formatLatency(s.ttfb ?? first - s.text_sent_at)}); ${formatCount(s.characters)} characters`);
        add('tts', first, Math.max(first, s.end), `b-tts-stream${cls}`, `${label}, synthesis until ${rel(s.end)}; ${formatCount(s.characters)} characters`);
      } else add('tts', s.text_sent_at, s.end, `b-tts${cls}`, `${label}, end ${rel(s.end)}`);
    }
    const audioStart = finite(r.first_audio_at);
    if (audioStart !== undefined) add('agent', audioStart, finite(r.ended_at) ?? audioStart, 'b-agent', `Agent speaking${r.agent ? ` (${r.agent})` : ''} from ${rel(audioStart)}${r.interrupted ? ', interrupted' : ''}`);
    for (const i of r.interruptions ?? [])
      add('agent', i.start, i.end, 'b-intr', `${i.stopped_agent ? 'Interruption: the user spoke over the agent and it stopped' : 'Overlapping speech (the agent went on)'}${i.overlap !== undefined ? `; overlap ${formatLatency(i.overlap)}` : ''}${i.detection_delay !== undefined ? `; detected after ${formatLatency(i.detection_delay)}` : ''}`);
  }
  const waits = turn.replies.filter((r) => Array.isArray(r.wait) && r.wait.length).map((reply) => ({ reply, slices: reply.wait }));
  const marks: RowModel['marks'] = [
    ...turn.handoffs.map((h) => ({ at: h.at - origin, cls: 'm-handoff', title: `Handoff ${h.from_agent ? `from ${h.from_agent} ` : ''}to ${h.to_agent} at ${rel(h.at)}` })),
    ...turn.errors.map((e) => ({ at: e.at - origin, cls: 'm-error', title: `Error in ${e.source} at ${rel(e.at)}: ${e.message}` })),
    ...turn.logs.map((l) => ({ at: l.at - origin, cls: 'm-log', title: `${l.level} at ${rel(l.at)}: ${l.message}` })),
  ].filter((m) => Number.isFinite(m.at));
  return { turn, origin, originLabel, bars, marks, waits };
}

/** A signal in words: `dead air 1.85 s`, `repeated user request (turn 2)`. */
function signalWords(signal: NonNullable<ReportTurn['signals']>[number]): string {
  const name = signal.name.replace(/_/g, ' ');
  if (finite(signal.seconds) !== undefined) return `${name} ${formatLatency(signal.seconds)}${signal.where === 'reply' ? ' inside the reply' : ''}`;
  return finite(signal.repeats_turn) !== undefined ? `${name} (turn ${signal.repeats_turn})` : name;
}

/** A turn's signals that can be shown (a broken report may hold anything there). */
function signalsOf(t: ReportTurn): NonNullable<ReportTurn['signals']> {
  return Array.isArray(t?.signals) ? t.signals.filter((s) => s !== null && typeof s === 'object' && typeof s.name === 'string') : [];
}

/** What went wrong: the turns with a quality signal, each linked to its row in the waterfall (and so to its audio). */
function wentWrong(ctx: Ctx): string {
  const flagged = ctx.turns.filter((t) => signalsOf(t).length);
  const raw = ctx.report.voicetrace.signals;
  const totals = Object.entries(raw !== null && typeof raw === 'object' ? raw : {}).filter(([, x]) => x !== null && typeof x === 'object' && finite(x.count) !== undefined && x.count > 0);
  if (!flagged.length && !totals.length) {
    return `<section id="went-wrong" aria-labelledby="went-wrong-h"><h2 id="went-wrong-h">What went wrong</h2><p class="muted" data-vt="signals-none">No quality signal fired on this call (see ATTRIBUTES.md, Signals, for what each one means).</p></section>`;
  }
  const summary = totals.map(([name, x]) => `<span class="chip" data-vt="signal-total" data-signal="${esc(name)}" data-value="${x.count}">${esc(name.replace(/_/g, ' '))} × ${formatCount(x.count)}${finite(x.seconds) !== undefined ? ` (${esc(formatLatency(x.seconds))})` : ''}</span>`).join(' · ');
  const items = flagged
    .map((t) => `<li><a href="#turn-${esc(t.index)}">Turn ${esc(t.index)}</a>: ${signalsOf(t).map((signal) => esc(signalWords(signal))).join(', ')}</li>`)
    .join('\n');
  return `<section id="went-wrong" aria-labelledby="went-wrong-h">
<h2 id="went-wrong-h">What went wrong</h2>
<p>${summary}</p>
<ul data-vt="flagged-turns">
${items}
</ul>
${ctx.report.voicetrace.turns_dropped ? '<p class="muted">Turns left out of this long call\'s detail are in the totals above, not in the list.</p>' : ''}
</section>`;
}

function waterfall(ctx: Ctx, seekable: boolean): string {
  const rows = ctx.turns.map(rowModel);
  const used = new Set<Lane>(rows.flatMap((r) => [...r.bars.map((b) => b.lane), ...(r.waits.length ? (['wait'] as Lane[]) : [])]));
  const lanes = (['user', 'stt', 'eou', 'llm', 'tool', 'tts', 'agent', 'wait'] as Lane[]).filter((l) => used.has(l));
  if (!lanes.length) lanes.push('wait');
  // one time scale for every row, so rows compare at a glance (0 = each turn's end of user speech)
  let lo = 0;
  let hi = 0.5;
  for (const r of rows) {
    for (const b of r.bars) {
      lo = Math.min(lo, b.from);
      hi = Math.max(hi, b.to);
    }
    for (const m of r.marks) {
      lo = Math.min(lo, m.at);
      hi = Math.max(hi, m.at);
    }
    for (const w of r.waits) hi = Math.max(hi, sumSeconds(w.slices));
  }
  lo = Math.max(lo, -60);
  hi = Math.min(hi, 120);
  const span = hi - lo;
  const pps = clamp(1000 / span, 40, 400); // pixels per second
  const pad = 8;
  const width = Math.ceil(span * pps) + pad * 2 + 90;
  const x = (t: number) => pad + (clamp(t, lo, hi) - lo) * pps;
  const height = lanes.length * LANE_H + 4;
  const laneY = (lane: Lane) => 2 + lanes.indexOf(lane) * LANE_H + (LANE_H - BAR_H) / 2;
  const step = tickStep(span, pps);
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-9; t += step) ticks.push(Number(t.toFixed(6)));
  const gridLines = ticks.map((t) => `<line class="${t === 0 ? 'zero' : 'tick'}" x1="${px(x(t))}" x2="${px(x(t))}" y1="0" y2="${height}"></line>`).join('');
  const axis = `<li class="wf-axis" aria-hidden="true"><div class="wf-body"><div class="wf-lanes"><div>seconds</div></div><svg width="${width}" height="18" viewBox="0 0 ${width} 18">${ticks
    .map((t) => `<text x="${px(x(t))}" y="12" text-anchor="middle">${t === 0 ? '0' : formatSigned(t, true)}</text>`)
    .join('')}</svg></div></li>`;
  const laneLabels = `<div class="wf-lanes" aria-hidden="true">${lanes.map((l) => `<div>${LANE_LABEL[l]}</div>`).join('')}</div>`;
  const body = rows
    .map((row) => {
      const t = row.turn;
      const bars = row.bars
        .filter((b) => lanes.includes(b.lane))
        .map((b) => rect(x(b.from), x(b.to), laneY(b.lane), b.cls, b.title))
        .join('');
      const marks = row.marks
        .map((m) => `<g class="${m.cls}"><line x1="${px(x(m.at))}" x2="${px(x(m.at))}" y1="0" y2="${height}"></line><path d="M${px(x(m.at) - 4)} 0h8l-4 6z"></path><title>${esc(m.title)}</title></g>`)
        .join('');
      const waitBars = row.waits
        .map(({ reply, slices }) => {
          let at = 0;
          const parts = slices.map((s) => {
            const from = at;
            at += Math.max(0, s.seconds);
            return rect(x(from), x(at), laneY('wait'), ownerClass(s.owner), `${WAIT_LABELS[s.key] ?? s.key} (${OWNER_LABELS[s.owner] ?? s.owner}): ${formatLatency(s.seconds)}`, 0);
          });
          const e2e = reply.latency?.e2e ?? at;
          parts.push(`<text x="${px(x(at) + 4)}" y="${px(laneY('wait') + BAR_H - 1)}">e2e ${esc(formatLatency(e2e))}</text>`);
          return parts.join('');
        })
        .join('');
      const offset = ctx.offsetOf(t.user?.recording_offset ?? t.replies[0]?.recording_offset, t.user?.speech_start ?? t.user?.started_at ?? t.replies[0]?.first_audio_at ?? t.replies[0]?.started_at ?? t.handoffs[0]?.at);
      const chips = t.replies
        .map((r) => {
          const e2e = r.latency?.e2e;
          return `<span class="chip">${r.agent ? `${esc(r.agent)} · ` : ''}e2e <span data-vt="e2e" data-speech="${esc(r.speech_id)}"${finite(e2e) !== undefined ? ` data-value="${e2e}"` : ''}>${esc(formatLatency(e2e))}</span> · <span data-vt="reply-cost" data-value="${finite(r.cost) ?? 0}">${esc(formatUsd(r.cost))}</span>${r.interrupted ? ' <span class="badge intr">interrupted</span>' : ''}${r.data_incomplete ? ' <span class="badge warn">incomplete</span>' : ''}</span>`;
        })
        .join('');
      const events = [
        ...t.handoffs.map((h) => `<span class="chip">handoff ${esc(h.from_agent ?? '')} → ${esc(h.to_agent)}</span>`),
        t.errors.length ? `<span class="badge err">${t.errors.length} error${t.errors.length > 1 ? 's' : ''}</span>` : '',
        t.logs.length ? `<span class="badge warn">${t.logs.length} log${t.logs.length > 1 ? 's' : ''}</span>` : '',
        ...signalsOf(t).map((signal) => `<span class="badge warn" data-vt="signal" data-signal="${esc(signal.name)}">${esc(signalWords(signal))}</span>`),
      ].join(' ');
      const label = `Turn ${t.index}${t.index === 0 ? ' (before the first user turn)' : ''}`;
      const e2eWords = t.replies.map((r) => `e2e ${formatLatency(r.latency?.e2e)}`).join(', ');
      const action = seekable && offset !== undefined ? `Play the recording from ${formatOffset(offset)}` : 'Show it in the transcript';
      const seekAttrs = `data-seek data-turn="${esc(t.index)}"${seekable && offset !== undefined ? ` data-offset="${offset.toFixed(3)}"` : ''}`;
      return `<li id="turn-${esc(t.index)}"><div class="wf-row" tabindex="0" role="button" ${seekAttrs} aria-label="${esc(`${label}${e2eWords ? `: ${e2eWords}` : ''}. ${action}.`)}">
<div class="wf-head"><b>${esc(label)}</b>${seekable && offset !== undefined ? `<span class="chip muted">▶ ${formatOffset(offset)}</span>` : ''}${chips}${events}<span class="chip muted">0 = ${row.originLabel}</span></div>
<div class="wf-body">${laneLabels}<svg width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" aria-hidden="true">${gridLines}${bars}${waitBars}${marks}</svg></div>
</div></li>`;
    })
    .join('\n');
  return `<section id="waterfall" aria-labelledby="waterfall-h">
<h2 id="waterfall-h">Turn waterfall</h2>
<p class="muted">One row per turn on a shared time axis: 0 is the end of the user's speech (or the turn's start). The wait row stacks what the user waited for, slice by slice, from the end of speech to the agent's first audio: the slices add up to e2e. Hover a bar for its figures.</p>
<ul class="legend" aria-label="Bars">
<li><span class="sw b-user"></span>user speech (VAD)</li><li><span class="sw b-stt"></span>STT</li><li><span class="sw b-eou"></span>end of utterance</li>
<li><span class="sw b-llm"></span>LLM: to first token | streaming</li><li><span class="sw b-tool"></span>tool call</li>
<li><span class="sw b-tts"></span>TTS: to first audio | synthesis</li><li><span class="sw b-agent"></span>agent speaking</li><li><span class="sw b-intr"></span>interruption</li>
<li><span class="sw m-handoff"></span>handoff</li><li><span class="sw m-error"></span>error</li>
</ul>
<ul class="legend" aria-label="Wait slices by owner">
${ownerLegend(rows.flatMap((r) => r.waits.flatMap((w) => w.slices.map((s) => s.owner))))}
</ul>
<div class="wf-scroll" data-zero-x="${px(x(0))}"><ol class="wf" aria-label="Turns">
${axis}
${body}
</ol></div>
</section>`;
}

function ownerLegend(owners: string[]): string {
  const order = [...KNOWN_OWNERS];
  const present = [...new Set(owners)].sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));
  if (!present.length) return '<li class="muted">no wait breakdown in this report</li>';
  return `<li class="muted">wait owners:</li>${present.map((o) => `<li><span class="sw ${ownerClass(o)}"></span>${esc(OWNER_LABELS[o] ?? o)}</li>`).join('')}`;
}

function ownerClass(owner: string): string {
  return KNOWN_OWNERS.has(owner) ? `o-${classToken(owner)}` : 'o-other';
}

function rect(x1: number, x2: number, y: number, cls: string, title: string, radius = 2): string {
  const w = Math.max(1, x2 - x1);
  return `<rect x="${px(x1)}" y="${px(y)}" width="${px(w)}" height="${BAR_H}" rx="${radius}" class="${cls}"><title>${esc(title)}</title></rect>`;
}

function tickStep(span: number, pps: number): number {
  for (const step of [0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60]) if (step * pps >= 56 || step >= span) return step;
  return 60;
}

// ---- latency ------------------------------------------------------------------------------

function latencySection(latency: Record<string, Percentiles>, wait: Record<string, Percentiles>): string {
  const stageKeys = [...LATENCY_STAGES.map((s) => s.key).filter((k) => latency[k]), ...Object.keys(latency).filter((k) => !LATENCY_STAGES.some((s) => s.key === k))];
  const waitOrder = Object.keys(WAIT_LABELS);
  const waitKeys = Object.keys(wait).sort((a, b) => (waitOrder.indexOf(a) + 1 || 99) - (waitOrder.indexOf(b) + 1 || 99));
  const scale = Math.max(0.001, ...[...stageKeys.map((k) => latency[k]!), ...waitKeys.map((k) => wait[k]!)].map((p) => p.p99 ?? p.max ?? 0).filter(Number.isFinite));
  const table = (kind: 'latency' | 'wait', keys: string[], stats: Record<string, Percentiles>, label: (k: string) => string) => `<div class="table-wrap"><table>
<thead><tr><th>${kind === 'latency' ? 'Stage' : 'Wait contribution'}</th><th class="n">n</th><th class="n">p50</th><th class="n">p95</th><th class="n">p99</th><th class="n">max</th><th><span class="sr">distribution</span></th></tr></thead>
<tbody>
${keys
  .map((k) => {
    const p = stats[k]!;
    const cell = (q: 'p50' | 'p95' | 'p99' | 'max') => `<td class="n" data-vt="${kind}.${esc(k)}.${q}"${finite(p[q]) !== undefined ? ` data-value="${p[q]}"` : ''}>${esc(formatLatency(p[q]))}</td>`;
    return `<tr><td>${label(k)} <code class="muted">${esc(k)}</code></td><td class="n">${formatCount(p.count)}</td>${cell('p50')}${cell('p95')}${cell('p99')}${cell('max')}<td>${percentileBar(p, scale)}</td></tr>`;
  })
  .join('\n')}
</tbody></table></div>`;
  return `<section id="latency" aria-labelledby="latency-h">
<h2 id="latency-h">Latency percentiles</h2>
${stageKeys.length ? table('latency', stageKeys, latency, (k) => esc(LATENCY_STAGES.find((s) => s.key === k)?.label ?? k)) : '<p class="muted">No latency figures in this report.</p>'}
<h3>Where the wait went</h3>
<p class="muted">Per contribution to e2e, over the replies that had it. Bars: p50 (dark), p95 (light), p99 (tick), on one scale.</p>
${waitKeys.length ? table('wait', waitKeys, wait, (k) => esc(WAIT_LABELS[k] ?? k)) : '<p class="muted">No wait breakdown in this report.</p>'}
</section>`;
}

function percentileBar(p: Percentiles, scale: number): string {
  const w = 120;
  const at = (v: number | undefined) => (v === undefined ? 0 : clamp((v / scale) * w, 0, w));
  return `<svg class="pbar" width="${w}" height="12" viewBox="0 0 ${w} 12" aria-hidden="true"><rect class="p95" x="0" y="2" width="${px(Math.max(at(p.p95), 1))}" height="8"></rect><rect class="p50" x="0" y="2" width="${px(Math.max(at(p.p50), 1))}" height="8"></rect>${p.p99 !== undefined ? `<line class="p99" x1="${px(at(p.p99))}" x2="${px(at(p.p99))}" y1="0" y2="12"></line>` : ''}</svg>`;
}

// ---- transcript ---------------------------------------------------------------------------

function transcript(ctx: Ctx): string {
  const v = ctx.report.voicetrace;
  const omitted = '<span class="omitted">content not included</span>';
  const content = (text: string | undefined) => (text !== undefined && text !== '' ? `<p class="text">${esc(text)}</p>` : `<p class="text">${v.pii_included ? '<span class="omitted">(nothing said)</span>' : omitted}</p>`);
  const seekButton = (offset: number | undefined, turn: number, what: string) =>
    offset !== undefined ? `<button type="button" class="seek" data-seek data-turn="${esc(turn)}" data-offset="${offset.toFixed(3)}" aria-label="Play ${what} from ${formatOffset(offset)}">▶ ${formatOffset(offset)}</button>` : '';
  const turns = ctx.turns
    .map((t) => {
      const items: Array<{ at: number; order: number; html: string }> = [];
      const u = t.user;
      if (u) {
        const offset = ctx.offsetOf(u.recording_offset, u.speech_start ?? u.started_at);
        const meta = [
          finite(u.confidence) !== undefined ? `confidence ${u.confidence!.toFixed(2)}` : '',
          u.transcription_delay !== undefined ? `final transcript ${formatLatency(u.transcription_delay)} after end of speech` : '',
          u.end_of_turn_delay !== undefined ? `end of turn after ${formatLatency(u.end_of_turn_delay)}` : '',
        ].filter(Boolean);
        items.push({
          at: u.speech_start ?? u.started_at,
          order: 0,
          html: `<div class="msg user"><div class="who">User ${seekButton(offset, t.index, 'the user')}</div>${content(u.transcript)}${meta.length ? `<div class="meta">${esc(meta.join(' · '))}</div>` : ''}${clipPlayer(u.clip, ctx.clipSrc(u.clip), 'Caller', t.index)}</div>`,
        });
      }
      for (const r of t.replies) {
        for (const tool of r.tools ?? []) {
          const body = v.pii_included
            ? `${tool.arguments !== undefined ? `<pre>${esc(tool.arguments)}</pre>` : ''}${tool.output !== undefined ? `<div class="meta">returned</div><pre>${esc(tool.output)}</pre>` : ''}`
            : `<div class="meta">${omitted}</div>`;
          items.push({
            at: tool.start,
            order: 1,
            html: `<div class="event tool"><span class="what">Tool call ${esc(tool.name ?? '(unnamed)')}</span> <span class="meta">${esc(formatLatency(tool.end - tool.start))}</span>${tool.is_error ? ' <span class="badge err">error</span>' : ''}${body}</div>`,
          });
        }
        const offset = ctx.offsetOf(r.recording_offset, r.first_audio_at);
        const meta = [
          r.latency?.e2e !== undefined ? `e2e ${formatLatency(r.latency.e2e)}` : '',
          r.latency?.llm_ttft !== undefined ? `LLM TTFT ${formatLatency(r.latency.llm_ttft)}` : '',
          r.latency?.tts_ttfb !== undefined ? `TTS TTFB ${formatLatency(r.latency.tts_ttfb)}` : '',
          `cost ${formatUsd(r.cost)}`,
          r.trace ? `trace ${r.trace.trace_id} span ${r.trace.span_id}` : '',
        ].filter(Boolean);
        const links = r.trace ? ctx.linkFor(r.trace.trace_id) : [];
        items.push({
          at: r.first_audio_at ?? r.started_at,
          order: 2,
          html: `<div class="msg agent"><div class="who">${esc(r.agent ?? 'Agent')} ${seekButton(offset, t.index, 'the agent')}${r.interrupted ? '<span class="badge intr">interrupted</span>' : ''}</div>${content(r.text)}<div class="meta">${esc(meta.join(' · '))}${links.map(([name, href]) => ` · <a href="${esc(href)}" rel="noopener noreferrer" target="_blank">${esc(name)}</a>`).join('')}</div>${clipPlayer(r.clip, ctx.clipSrc(r.clip), 'Agent', t.index)}</div>`,
        });
        for (const i of r.interruptions ?? []) {
          items.push({
            at: i.start,
            order: 3,
            html: `<div class="event intr"><span class="what">${i.stopped_agent ? 'Interruption' : 'Overlapping speech'}</span> <span class="meta">${esc(
              [
                i.stopped_agent ? 'the user spoke over the agent, which stopped' : 'the user spoke over the agent, which went on',
                i.overlap !== undefined ? `overlap ${formatLatency(i.overlap)}` : '',
                i.detection_delay !== undefined ? `detected after ${formatLatency(i.detection_delay)}` : '',
              ]
                .filter(Boolean)
                .join(' · '),
            )}</span></div>`,
          });
        }
      }
      for (const h of t.handoffs) items.push({ at: h.at, order: 4, html: `<div class="event handoff"><span class="what">Handoff</span> ${h.from_agent ? `${esc(h.from_agent)} → ` : 'to '}${esc(h.to_agent)}</div>` });
      for (const e of t.errors)
        items.push({ at: e.at, order: 5, html: `<div class="event error"><span class="what">Error in ${esc(e.source)}</span> <span class="meta">${e.recoverable ? 'recovered' : 'not recoverable'}</span><pre>${esc(e.message)}</pre></div>` });
      for (const l of t.logs)
        items.push({
          at: l.at,
          order: 6,
          html: `<div class="event log"><span class="what">${esc(l.level)}</span> <span class="meta">${esc(formatEpoch(l.at))}${l.trace_id ? ` · trace ${esc(l.trace_id)}` : ''}</span><pre>${esc(l.message)}</pre></div>`,
        });
      items.sort((a, b) => a.at - b.at || a.order - b.order);
      const title = t.index === 0 ? 'Before the first user turn' : `Turn ${t.index}`;
      return `<li class="t-turn" id="turn-${esc(t.index)}"><h3>${esc(title)}</h3>${items.map((i) => i.html).join('\n') || '<p class="muted">nothing happened</p>'}</li>`;
    })
    .join('\n');
  return `<section id="transcript" aria-labelledby="transcript-h">
<h2 id="transcript-h">Transcript</h2>
${v.pii_included ? '' : '<p class="note">Content was left out (PII not allowed when this report was written): the transcript shows who spoke when, tool calls, handoffs, interruptions and errors, but not what was said.</p>'}
<ol class="transcript">
${turns}
</ol>
</section>`;
}

/** A turn's own player for one side (no request until played), else why there is no clip. */
function clipPlayer(clip: ReportClip | undefined, src: string | undefined, who: 'Caller' | 'Agent', turn: number): string {
  if (clip === null || typeof clip !== 'object') return '';
  const length = finite(clip.duration) !== undefined ? ` ${formatDuration(clip.duration)}` : '';
  if (src) {
    return `<div class="meta" data-vt="clip" data-side="${who === 'Caller' ? 'user' : 'agent'}">${who}${esc(length)}<audio controls preload="none" src="${esc(src)}" aria-label="${esc(`${who}, turn ${turn}${length}`)}"></audio></div>`;
  }
  return typeof clip.skipped === 'string' && clip.skipped ? `<div class="meta" data-vt="clip-skipped">clip skipped: ${esc(clip.skipped)}</div>` : '';
}

// ---- usage --------------------------------------------------------------------------------

function usageSection(usage: SessionReportJson['voicetrace']['usage'], total: number | undefined): string {
  const kind: Record<string, string> = { llm_usage: 'LLM', tts_usage: 'TTS', stt_usage: 'STT', interruption_usage: 'Interruption' };
  const n = (u: Record<string, unknown>, k: string) => (typeof u[k] === 'number' && Number.isFinite(u[k]) ? (u[k] as number) : undefined);
  const rows = usage
    .map((u) => {
      const parts: string[] = [];
      if (u.type === 'llm_usage' || n(u, 'input_tokens') || n(u, 'output_tokens')) {
        const cached = n(u, 'input_cached_tokens');
        if (n(u, 'input_tokens') !== undefined || u.type === 'llm_usage') parts.push(`${formatCount(n(u, 'input_tokens') ?? 0)} input tokens${cached ? ` (${formatCount(cached)} cached)` : ''}`);
        if (n(u, 'output_tokens') !== undefined || u.type === 'llm_usage') parts.push(`${formatCount(n(u, 'output_tokens') ?? 0)} output tokens`);
      }
      if (n(u, 'characters_count') !== undefined) parts.push(`${formatCount(n(u, 'characters_count'))} characters`);
      if (n(u, 'audio_duration')) parts.push(`${formatDuration(n(u, 'audio_duration'))} of audio`);
      if (n(u, 'session_duration')) parts.push(`${formatDuration(n(u, 'session_duration'))} connected`);
      return `<tr><td>${esc(kind[u.type] ?? u.type)}</td><td>${esc(u.provider)} / ${esc(u.model)}</td><td>${esc(parts.join(' · ') || '–')}</td><td class="n">${formatCount(n(u, 'requests'))}</td><td class="n" data-vt="usage-cost" data-model="${esc(`${u.provider}/${u.model}`)}"${finite(u.cost) !== undefined ? ` data-value="${u.cost}"` : ''}>${esc(formatUsd(u.cost))}</td></tr>`;
    })
    .join('\n');
  return `<section id="usage" aria-labelledby="usage-h">
<h2 id="usage-h">Usage and cost per model</h2>
${
  usage.length
    ? `<div class="table-wrap"><table>
<thead><tr><th>Kind</th><th>Provider / model</th><th>Usage (each unit counted once)</th><th class="n">Requests</th><th class="n">Est. cost</th></tr></thead>
<tbody>
${rows}
</tbody>
<tfoot><tr><td colspan="4">Total (estimate at list prices)</td><td class="n" data-vt="usage-total"${finite(total) !== undefined ? ` data-value="${total}"` : ''}>${esc(formatUsd(total))}</td></tr></tfoot>
</table></div>`
    : '<p class="muted">No usage in this report.</p>'
}
</section>`;
}

// ---- helpers ------------------------------------------------------------------------------

/** Per-turn trace links: in trace-per-turn mode, the session's links with the turn's trace id. */
function turnLinks(report: SessionReportJson): (traceId: string | undefined) => Array<[string, string]> {
  const sessionTrace = report.voicetrace.trace?.trace_id;
  const links = Object.entries(report.voicetrace.trace?.links ?? {});
  return (traceId) => {
    if (!traceId || !sessionTrace || traceId === sessionTrace) return [];
    return links
      .filter(([, href]) => typeof href === 'string' && href.includes(sessionTrace))
      .map(([name, href]): [string, string | undefined] => [name, safeHttpUrl(href.split(sessionTrace).join(traceId))])
      .filter((l): l is [string, string] => l[1] !== undefined);
  };
}

function sha256(text: string): string {
  return `sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}`;
}

function finite(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}

function px(v: number): string {
  return (Math.round(v * 10) / 10).toString();
}

function sumSeconds(slices: WaitSlice[]): number {
  return slices.reduce((n, s) => n + Math.max(0, finite(s.seconds) ?? 0), 0);
}

/** `+1.38 s`, `-0.5 s` (axis labels and tooltips, relative to the row's 0). */
function formatSigned(seconds: number, axis = false): string {
  const text = axis ? `${Number(seconds.toFixed(2))} s` : formatLatency(Math.abs(seconds));
  if (axis) return seconds > 0 ? `+${text}` : text;
  return `${seconds < 0 ? '−' : '+'}${text}`;
}
