import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { writeFile } from 'node:fs/promises';

/** A request as a local test server saw it, body included. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
  at: number;
}

export interface LocalServer {
  url: string;
  port: number;
  requests: SeenRequest[];
  close(): Promise<void>;
}

/**
 * A loopback HTTP server that reads each request whole, records it and lets `respond` answer (or not:
 * a handler that never ends the response is a server that hangs).
 */
export async function localServer(respond: (req: SeenRequest, res: ServerResponse, index: number) => void | Promise<void>): Promise<LocalServer> {
  const requests: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const seen: SeenRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks), at: Date.now() };
      requests.push(seen);
      void respond(seen, res, requests.length - 1);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** An S3 XML error answer. */
export function s3Error(res: ServerResponse, status: number, code: string, message = code): void {
  res.writeHead(status, { 'content-type': 'application/xml' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><RequestId>1</RequestId></Error>`);
}

/** A successful PutObject answer. */
export function s3Ok(res: ServerResponse): void {
  res.writeHead(200, { etag: '"0"', 'content-length': '0' });
  res.end();
}

/** A Twirp JSON error answer (what livekit-server sends). */
export function twirpError(res: ServerResponse, status: number, code: string, msg: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ code, msg }));
}

/** Writes `pcm` (mono 16-bit little-endian) as an Ogg Vorbis file with sox. */
export function pcmToOgg(sox: string, pcm: Int16Array, sampleRate: number, out: string): Promise<void> {
  const raw = `${out}.raw`;
  return writeFile(raw, Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength)).then(
    () =>
      new Promise<void>((resolve, reject) => {
        execFile(sox, ['-D', '-t', 'raw', '-r', String(sampleRate), '-e', 'signed-integer', '-b', '16', '-c', '1', '-L', raw, out], (err, _o, stderr) =>
          err ? reject(new Error(`sox failed: ${err.message}\n${stderr}`)) : resolve(),
        );
      }),
  );
}

/** The elapsed time of `work`, with its result. */
export async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await work();
  return { value, ms: Math.round(performance.now() - t0) };
}
