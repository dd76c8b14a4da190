/**
 * `node --import @voicetrace/livekit/register dist/worker.js start`
 *
 * Instruments pino (`@opentelemetry/instrumentation-pino`) before anything loads it. The
 * LiveKit SDK imports pino itself and creates its logger in each job process before the
 * agent's code runs, so instrumenting from the agent's code is too late (tried: neither a
 * runtime `module.register` of import-in-the-middle nor require-in-the-middle sees a module
 * already loaded). Job processes are forked with the worker's `execArgv`, so this one flag
 * on the worker instruments every job process too (`NODE_OPTIONS` works as well).
 *
 * Each line of the SDK's logger (and any pino logger) then carries `trace_id`/`span_id` of
 * the span it was written in (the ids its span is exported under, also in trace-per-turn
 * mode) and is emitted as an OTel log record; `setupVoiceTrace` sends those to the
 * Collector and puts each turn's warnings and errors in the session report.
 *
 * ESM and CommonJS agents alike: pino is hooked for `import` (import-in-the-middle, limited
 * to pino) and `require` (require-in-the-middle). Loads nothing else, not the SDK.
 */
import { PinoInstrumentation } from '@opentelemetry/instrumentation-pino';
import { register } from 'node:module';

interface LogsGlobal {
  exportedIds?: (traceId: string, spanId: string) => { traceId: string; spanId: string } | undefined;
  pinoInstrumented?: boolean;
}

const shared = globalThis as { [key: symbol]: LogsGlobal | undefined };
const key = Symbol.for('voicetrace.logs');
const state: LogsGlobal = (shared[key] ??= {});

if (!state.pinoInstrumented) {
  // only pino goes through the loader hook: every other module loads as usual
  register('import-in-the-middle/hook.mjs', import.meta.url, { data: { include: ['pino'] } });
  new PinoInstrumentation({
    // in trace-per-turn mode a turn's spans are exported under another trace id than the live one
    logHook: (span, record) => {
      try {
        const context = span.spanContext();
        const ids = state.exportedIds?.(context.traceId, context.spanId);
        if (ids) record.trace_id = ids.traceId;
      } catch {
        // a log line is never lost to the mapping
      }
    },
  });
  state.pinoInstrumented = true;
}
