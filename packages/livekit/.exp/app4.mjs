// simulates the job process: the SDK (and pino) is imported first, then the user's agent module runs
const { initializeLogger, log } = await import('@livekit/agents');
// "user code": runtime registration (module.register of import-in-the-middle + require-in-the-middle via the instrumentation)
await import('./reg.mjs');
const { logs } = await import('@opentelemetry/api-logs');
const { LoggerProvider } = await import('@opentelemetry/sdk-logs');
const { trace } = await import('@opentelemetry/api');
const { NodeTracerProvider } = await import('@opentelemetry/sdk-trace-node');
logs.setGlobalLoggerProvider(new LoggerProvider({ processors: [{ onEmit: (r) => console.error('EMIT', r.body, r.spanContext?.spanId), forceFlush: async () => {}, shutdown: async () => {} }] }));
new NodeTracerProvider().register();
initializeLogger({ pretty: false, level: 'info' });
trace.getTracer('x').startActiveSpan('turn', (span) => { log().warn('inside a turn'); span.end(); });
