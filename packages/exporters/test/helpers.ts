import { diag, DiagLogLevel, SpanKind, SpanStatusCode, trace, ROOT_CONTEXT, type Attributes } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Real spans from a real SDK: a root and `count - 1` children, ended, with the given attributes. */
export function makeSpans(count: number, attributes: (index: number) => Attributes = () => ({})): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'voicetrace-test', 'deployment.environment': 'test' }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const tracer = provider.getTracer('livekit-agents', '1.9.0');
  const root = tracer.startSpan('agent_session', { kind: SpanKind.INTERNAL, attributes: attributes(0) });
  const parent = trace.setSpan(ROOT_CONTEXT, root);
  for (let index = 1; index < count; index++) {
    const child = tracer.startSpan('llm_request', { kind: SpanKind.CLIENT, attributes: attributes(index) }, parent);
    child.addEvent('first_token', { 'lk.ttft': 0.25 });
    child.setStatus({ code: SpanStatusCode.OK });
    child.end();
  }
  root.end();
  // Root last in the exporter; tests want it first.
  const spans = memory.getFinishedSpans();
  return [spans[spans.length - 1]!, ...spans.slice(0, -1)];
}

/** Exports and waits for the callback. */
export function exportSpans(exporter: SpanExporter, spans: ReadableSpan[]): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(spans, resolve));
}

export const SUCCESS = ExportResultCode.SUCCESS;
export const FAILED = ExportResultCode.FAILED;

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** A local HTTP server whose answers the test scripts; records what it received. */
export async function startServer(respond: (request: ReceivedRequest, index: number) => { status: number; headers?: Record<string, string>; body?: string | Uint8Array }) {
  const requests: ReceivedRequest[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      requests.push(request);
      const answer = respond(request, requests.length - 1);
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Captures `diag` output at WARN and above. */
export function captureDiag() {
  const warnings: string[] = [];
  const errors: string[] = [];
  diag.setLogger(
    {
      error: (message: string) => errors.push(message),
      warn: (message: string) => warnings.push(message),
      info: () => undefined,
      debug: () => undefined,
      verbose: () => undefined,
    },
    { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
  return { warnings, errors, restore: () => diag.disable() };
}
