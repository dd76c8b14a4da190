// A demo call in a plain (non-job) process, the way users run an agent outside a LiveKit worker,
// with voicetrace's SIGTERM/SIGINT handling on (examples/demo/test/e2e-sigterm.test.ts starts it and
// sends SIGTERM mid-call):
//
//   node sigterm-call.mjs <out dir> <collector base URL> <stalled base URL>
//
// Spans go to the Collector (voicetrace's OTLP exporter), to a backend that never answers (the stock
// OTLP exporter, as a user's extra exporter) and to <out>/<session id>/traces.jsonl. Prints
// `SESSION_STARTED <id>` when the session starts.
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { runDemo } from '../../dist/run-demo.js';

const [out, collectorUrl, stalledUrl] = process.argv.slice(2);
const sessionId = `sigterm-${process.pid}`;
await runDemo({
  out,
  sessionId,
  turns: 12,
  onSession: () => console.log(`SESSION_STARTED ${sessionId}`),
  voicetrace: {
    handleSignals: true,
    otlp: { endpoint: collectorUrl },
    exporters: [new OTLPTraceExporter({ url: `${stalledUrl}/v1/traces` })],
  },
});
console.log('CALL_FINISHED');
