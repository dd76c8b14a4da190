// Replays the export calls an agent made (recorded by RecordingExporter) into other exporters
// with the same relative timing, so a Collector configured after the fact (e.g. with a threshold
// taken from the run's own traces.jsonl) receives the demo's spans exactly as it would have live.
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { ExportRecord } from './recording.js';
import { sleep } from './util.js';

export interface ReplayReport {
  exports: number;
  spans: number;
  failed: number;
  /** Wall time the replay took, ms. */
  tookMs: number;
  /** Worst lateness of an export against its recorded offset, ms. */
  maxLagMs: number;
}

const exportOnce = (exporter: SpanExporter, record: ExportRecord): Promise<boolean> =>
  new Promise((resolve) => exporter.export(record.spans, (r) => resolve(r.code === 0)));

/** Sends each recorded export to every exporter at its recorded offset from the first one. */
export async function replay(records: readonly ExportRecord[], exporters: readonly SpanExporter[]): Promise<ReplayReport> {
  const ordered = [...records].sort((a, b) => a.calledAt - b.calledAt);
  const first = ordered[0]?.calledAt ?? 0;
  const started = Date.now();
  let failed = 0;
  let maxLagMs = 0;
  for (const record of ordered) {
    const due = started + (record.calledAt - first);
    if (due > Date.now()) await sleep(due - Date.now());
    maxLagMs = Math.max(maxLagMs, Date.now() - due);
    const results = await Promise.all(exporters.map((e) => exportOnce(e, record)));
    failed += results.filter((ok) => !ok).length;
  }
  return { exports: ordered.length, spans: ordered.reduce((n, r) => n + r.spans.length, 0), failed, tookMs: Date.now() - started, maxLagMs };
}
