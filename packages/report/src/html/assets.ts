/**
 * The page's only style sheet and script, inlined (the page makes no request). Both are static:
 * no report data is ever interpolated into them, so the Content-Security-Policy can pin them by
 * hash and nothing a transcript holds can become code.
 */

export const STYLE = `
:root {
  color-scheme: light dark;
  --bg: #ffffff; --fg: #1f2328; --muted: #59636e; --line: #d8dee4; --panel: #f6f8fa; --focus: #0969da;
  --c-user: #e879a6; --c-stt: #0f9f8f; --c-eou: #d98a00; --c-llm: #2f6fdf; --c-llm-stream: #9cbcf3;
  --c-tool: #8250df; --c-tts: #1a9c5b; --c-tts-stream: #8fd6ae; --c-agent: #9aa6b2; --c-intr: #d1242f;
  --c-pipeline: #6e7781; --c-unmeasured: #c9d1d9; --c-other: #a8a29e; --c-error: #d1242f; --c-warn: #9a6700;
  --lane-w: 64px;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --line: #30363d; --panel: #161b22; --focus: #4493f8;
    --c-agent: #656d76; --c-unmeasured: #3d444d; --c-llm-stream: #30568f; --c-tts-stream: #1f6e45; }
}
* { box-sizing: border-box; }
.defs { position: absolute; width: 0; height: 0; overflow: hidden; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
html { background: var(--bg); color: var(--fg); -webkit-text-size-adjust: 100%; }
body { margin: 0 auto; padding: 16px; max-width: 1200px; }
h1 { font-size: 1.35rem; margin: 0 0 4px; overflow-wrap: anywhere; }
h2 { font-size: 1.1rem; margin: 28px 0 8px; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .88em; overflow-wrap: anywhere; }
a { color: var(--focus); }
p { margin: 6px 0; }
.muted { color: var(--muted); }
.sub { color: var(--muted); margin: 0 0 12px; overflow-wrap: anywhere; }
.stats { display: flex; flex-wrap: wrap; gap: 8px; margin: 0; }
.stats > div { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 6px 10px; min-width: 104px; }
.stats dt { font-size: .78rem; color: var(--muted); }
.stats dd { margin: 0; font-weight: 600; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
.links { overflow-wrap: anywhere; }
.links a { margin-right: 10px; }
nav.toc { margin: 14px 0 0; display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: .92rem; }
.note { background: var(--panel); border: 1px solid var(--line); border-left: 4px solid var(--c-warn); border-radius: 6px; padding: 8px 12px; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; border-radius: 4px; }
button { font: inherit; color: inherit; }
.seek { background: var(--panel); border: 1px solid var(--line); border-radius: 999px; padding: 0 8px; cursor: pointer; font-size: .82rem; font-variant-numeric: tabular-nums; }
.seek:hover { border-color: var(--focus); }
audio { width: 100%; max-width: 640px; display: block; margin: 6px 0; }

/* waterfall */
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: .84rem; margin: 6px 0 10px; padding: 0; list-style: none; }
.legend li { display: inline-flex; align-items: center; gap: 6px; }
.sw { display: inline-block; width: 12px; height: 12px; border-radius: 3px; flex: none; }
.wf-scroll { overflow-x: auto; position: relative; border: 1px solid var(--line); border-radius: 8px; background: var(--bg); -webkit-overflow-scrolling: touch; }
.wf { list-style: none; margin: 0; padding: 0; width: max-content; min-width: 100%; }
.wf-row { display: block; border-top: 1px solid var(--line); padding: 6px 0 8px; cursor: default; }
.wf-row[data-seek] { cursor: pointer; }
.wf-row:hover { background: var(--panel); }
.wf-row[aria-current="true"] { background: var(--panel); box-shadow: inset 4px 0 0 var(--focus); }
.wf-row:focus-visible { outline-offset: -3px; }
.wf-head { position: sticky; left: 0; display: inline-block; max-width: calc(100vw - 40px); padding: 0 10px 4px; font-size: .88rem; }
.wf-head b { margin-right: 6px; }
.wf-head .chip { display: inline-block; margin-right: 8px; white-space: nowrap; font-variant-numeric: tabular-nums; }
.wf-body { display: flex; align-items: flex-start; }
.wf-lanes { position: sticky; left: 0; z-index: 1; width: var(--lane-w); flex: none; background: var(--bg); font-size: .72rem; color: var(--muted); padding-left: 10px; }
.wf-row:hover .wf-lanes, .wf-row[aria-current="true"] .wf-lanes { background: var(--panel); }
.wf-lanes div { height: 14px; line-height: 14px; white-space: nowrap; }
.wf-axis { padding: 4px 0 2px; border-top: 0; }
.wf-axis .wf-lanes { background: var(--bg); }
.wf svg { display: block; flex: none; }
.wf svg text { font-size: 10px; fill: var(--muted); }
.badge { display: inline-block; border-radius: 4px; padding: 0 5px; font-size: .75rem; font-weight: 600; }
.badge.intr { background: var(--c-intr); color: #fff; }
.badge.err { background: var(--c-error); color: #fff; }
.badge.warn { background: var(--c-warn); color: #fff; }
.tick { stroke: var(--line); }
.zero { stroke: var(--fg); stroke-width: 1.5; }
.b-user { fill: var(--c-user); } .b-stt { fill: var(--c-stt); } .b-eou { fill: var(--c-eou); }
.b-llm { fill: var(--c-llm); } .b-llm-stream { fill: var(--c-llm-stream); } .b-tool { fill: var(--c-tool); }
.b-tool-error { fill: var(--c-error); } .b-tts { fill: var(--c-tts); } .b-tts-stream { fill: var(--c-tts-stream); }
.b-agent { fill: var(--c-agent); } .b-intr { fill: url(#vt-hatch); stroke: var(--c-intr); stroke-width: 1; }
.b-cancelled { opacity: .45; } .b-dup { fill-opacity: .25; stroke: currentColor; stroke-dasharray: 2 2; }
.o-provider-stt { fill: var(--c-stt); background: var(--c-stt); }
.o-setting-endpointing { fill: var(--c-eou); background: var(--c-eou); }
.o-agent-code { fill: var(--c-tool); background: var(--c-tool); }
.o-provider-llm { fill: var(--c-llm); background: var(--c-llm); }
.o-provider-tts { fill: var(--c-tts); background: var(--c-tts); }
.o-provider-realtime { fill: var(--c-llm); background: var(--c-llm); }
.o-pipeline { fill: var(--c-pipeline); background: var(--c-pipeline); }
.o-pipeline-unmeasured { fill: var(--c-unmeasured); background: var(--c-unmeasured); }
.o-other { fill: var(--c-other); background: var(--c-other); }
.sw.b-user { background: var(--c-user); } .sw.b-stt { background: var(--c-stt); } .sw.b-eou { background: var(--c-eou); }
.sw.b-llm { background: linear-gradient(90deg, var(--c-llm) 50%, var(--c-llm-stream) 50%); }
.sw.b-tool { background: var(--c-tool); } .sw.b-tts { background: linear-gradient(90deg, var(--c-tts) 50%, var(--c-tts-stream) 50%); }
.sw.b-agent { background: var(--c-agent); }
.sw.b-intr { background: repeating-linear-gradient(45deg, var(--c-intr) 0 2px, transparent 2px 5px); border: 1px solid var(--c-intr); }
.hatch-line { stroke: var(--c-intr); stroke-width: 1.5; }
.m-handoff line { stroke: var(--c-eou); stroke-width: 2; } .m-handoff path { fill: var(--c-eou); }
.m-error line { stroke: var(--c-error); stroke-width: 2; } .m-error path { fill: var(--c-error); }
.m-log line { stroke: var(--c-warn); stroke-width: 1.5; stroke-dasharray: 3 2; } .m-log path { fill: var(--c-warn); }
.sw.m-handoff { background: var(--c-eou); width: 4px; } .sw.m-error { background: var(--c-error); width: 4px; }

/* tables */
.table-wrap { overflow-x: auto; position: relative; -webkit-overflow-scrolling: touch; }
table { border-collapse: collapse; font-size: .9rem; min-width: 100%; }
th, td { text-align: left; padding: 5px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: .8rem; white-space: nowrap; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tfoot td { font-weight: 600; border-bottom: 0; }
.pbar { display: block; }
.pbar .p50 { fill: var(--c-llm); } .pbar .p95 { fill: var(--c-llm-stream); } .pbar .p99 { stroke: var(--fg); stroke-width: 1.5; }

/* transcript */
.transcript { list-style: none; margin: 0; padding: 0; }
.t-turn { border-top: 1px solid var(--line); padding: 10px 0; scroll-margin-top: 12px; }
.t-turn:target { background: var(--panel); }
.t-turn h3 { font-size: .95rem; margin: 0 0 6px; display: flex; flex-wrap: wrap; align-items: center; gap: 6px 10px; }
.msg { margin: 6px 0; padding: 6px 10px; border-radius: 8px; max-width: 46rem; }
.msg.user { background: var(--panel); border: 1px solid var(--line); }
.msg.agent { border: 1px solid var(--line); border-left: 4px solid var(--c-llm); margin-left: min(6vw, 48px); }
.msg .who { font-size: .8rem; font-weight: 600; color: var(--muted); display: flex; flex-wrap: wrap; gap: 4px 10px; align-items: center; }
.msg .text { margin: 2px 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.msg .meta, .event .meta { font-size: .8rem; color: var(--muted); overflow-wrap: anywhere; }
.omitted { color: var(--muted); font-style: italic; }
.event { margin: 4px 0 4px min(6vw, 48px); font-size: .88rem; overflow-wrap: anywhere; max-width: 46rem; }
.event .what { font-weight: 600; }
.event.tool .what { color: var(--c-tool); } .event.handoff .what { color: var(--c-eou); }
.event.intr .what, .event.error .what { color: var(--c-error); } .event.log .what { color: var(--c-warn); }
.event pre { margin: 2px 0; white-space: pre-wrap; overflow-wrap: anywhere; font-size: .82rem; background: var(--panel); border-radius: 6px; padding: 4px 8px; }
footer { margin: 32px 0 8px; font-size: .8rem; color: var(--muted); }
@media (max-width: 600px) {
  body { padding: 10px; }
  :root { --lane-w: 52px; font-size: 14px; }
  .stats > div { min-width: calc(50% - 4px); flex: 1 1 calc(50% - 4px); }
}
@media print { .wf-scroll { overflow: visible; } audio, .seek { display: none; } }
`;

/**
 * Seeking: an element with `data-seek` (a waterfall row, a transcript button) moves the player
 * to its `data-offset` and plays from there, on click, Enter or Space. Without a recording a
 * waterfall row jumps to its turn in the transcript instead.
 */
export const SCRIPT = `
(function () {
  'use strict';
  var audio = document.getElementById('vt-audio');
  var current = null;
  // on a narrow screen, start the waterfall near 0 (the end of the user's speech), not at its left edge
  var scroller = document.querySelector('.wf-scroll');
  if (scroller && scroller.scrollWidth > scroller.clientWidth) {
    var zero = Number(scroller.getAttribute('data-zero-x'));
    if (isFinite(zero)) scroller.scrollLeft = Math.max(0, zero - scroller.clientWidth * 0.45);
  }
  function seek(seconds) {
    var go = function () {
      try { audio.currentTime = seconds; } catch (e) { return; }
      var p = audio.play();
      if (p && p.catch) p.catch(function () {});
    };
    if (audio.readyState >= 1) go();
    else { audio.addEventListener('loadedmetadata', go, { once: true }); if (audio.networkState === 0) audio.load(); }
  }
  function activate(el) {
    var offset = Number(el.getAttribute('data-offset'));
    if (audio && el.hasAttribute('data-offset') && isFinite(offset)) {
      seek(offset);
      var row = el.closest('.wf-row') || document.querySelector('.wf-row[data-turn="' + el.getAttribute('data-turn') + '"]');
      if (current) current.removeAttribute('aria-current');
      if (row) { row.setAttribute('aria-current', 'true'); current = row; }
    } else if (el.hasAttribute('data-turn')) {
      var target = document.getElementById('turn-' + el.getAttribute('data-turn'));
      if (target) { location.hash = 'turn-' + el.getAttribute('data-turn'); }
    }
  }
  document.addEventListener('click', function (event) {
    var t = event.target;
    if (!t || !t.closest || t.closest('a')) return;
    var el = t.closest('[data-seek]');
    if (el) activate(el);
  });
  document.addEventListener('keydown', function (event) {
    if (event.key !== 'Enter' && event.key !== ' ' && event.key !== 'Spacebar') return;
    var t = event.target;
    if (!t || !t.closest || t.tagName === 'BUTTON' || t.tagName === 'A' || t.tagName === 'AUDIO') return;
    var el = t.closest('[data-seek]');
    if (!el || el !== t) return;
    event.preventDefault();
    activate(el);
  });
})();
`;
