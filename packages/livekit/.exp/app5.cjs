const { initializeLogger, log } = require('@livekit/agents');

const { PinoInstrumentation } = require('@opentelemetry/instrumentation-pino');
new PinoInstrumentation();
const { logs } = require('@opentelemetry/api-logs');
const { LoggerProvider } = require('@opentelemetry/sdk-logs');
const { trace } = require('@opentelemetry/api');
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
logs.setGlobalLoggerProvider(new LoggerProvider({ processors: [{ onEmit: (r) => console.error('EMIT', r.body, r.spanContext?.spanId), forceFlush: async () => {}, shutdown: async () => {} }] }));
new NodeTracerProvider().register();
initializeLogger({ pretty: false, level: 'info' });
trace.getTracer('x').startActiveSpan('turn', (span) => { log().warn('inside a turn'); span.end(); });
