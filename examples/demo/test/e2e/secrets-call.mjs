// A short demo call configured only from the environment, as a deployed agent is (OTLP endpoint and
// headers, LangFuse keys, cloud and LiveKit credentials in the process's environment);
// examples/demo/test/secrets.test.ts starts it and scans everything it writes for those secrets.
//
//   node secrets-call.mjs <out dir>
//
// Prints one JSON line: the session id, where its traces and report went, and the export counters.
import { runDemo } from '../../dist/run-demo.js';

const [out] = process.argv.slice(2);
const result = await runDemo({ out, turns: 3 });
console.log(JSON.stringify({ sessionId: result.sessionId, tracesPath: result.tracesPath, report: result.report, exports: result.exports }));
process.exit(0);
