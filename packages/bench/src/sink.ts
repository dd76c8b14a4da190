import { createServer, type Server } from 'node:http';

/** What a loopback sink received on one OTLP path. */
export interface SinkCounts {
  bytes: number;
  requests: number;
  /** Spans in the trace requests (counted off the protobuf, so both paths are checked the same way). */
  spans: number;
}

/** A loopback OTLP/HTTP sink: answers 200 to everything, counts bytes, requests and spans per path. */
export interface Sink {
  /** Base URL (`http://127.0.0.1:<port>`); traces go to `<url>/v1/traces`. */
  url: string;
  counts(path?: string): SinkCounts;
  close(): Promise<void>;
}

export async function startSink(): Promise<Sink> {
  const counts = new Map<string, SinkCounts>();
  const of = (path: string): SinkCounts => {
    let c = counts.get(path);
    if (!c) counts.set(path, (c = { bytes: 0, requests: 0, spans: 0 }));
    return c;
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const c = of(req.url ?? '/');
      const body = Buffer.concat(chunks);
      c.bytes += body.length;
      c.requests += 1;
      if (req.url === '/v1/traces' && String(req.headers['content-type']).includes('protobuf')) c.spans += countOtlpSpans(body);
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    counts: (path = '/v1/traces') => ({ ...of(path) }),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Spans in an OTLP `ExportTraceServiceRequest` (protobuf), by walking its fields: resource_spans
 * (1) > scope_spans (2) > spans (2). Throws on a malformed message.
 */
export function countOtlpSpans(buf: Uint8Array): number {
  let spans = 0;
  forEachField(buf, 0, buf.length, (field, start, end) => {
    if (field !== 1) return;
    forEachField(buf, start, end, (f2, s2, e2) => {
      if (f2 !== 2) return;
      forEachField(buf, s2, e2, (f3) => {
        if (f3 === 2) spans++;
      });
    });
  });
  return spans;
}

function forEachField(buf: Uint8Array, pos: number, end: number, visit: (field: number, start: number, end: number) => void): void {
  const varint = (): number => {
    let value = 0;
    let shift = 0;
    for (;;) {
      if (pos >= end) throw new Error('truncated varint');
      const byte = buf[pos++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
      shift += 7;
    }
  };
  while (pos < end) {
    const key = varint();
    const field = Math.floor(key / 8);
    switch (key & 7) {
      case 0:
        varint();
        break;
      case 1:
        pos += 8;
        break;
      case 2: {
        const length = varint();
        if (pos + length > end) throw new Error('truncated field');
        visit(field, pos, pos + length);
        pos += length;
        break;
      }
      case 5:
        pos += 4;
        break;
      default:
        throw new Error(`wire type ${key & 7}`);
    }
  }
}
