import { createServer, type Server } from 'node:http';

/** A loopback OTLP/HTTP sink that accepts every request (200) and counts bytes and requests. */
export async function startSink(): Promise<{ url: string; bytes: () => number; requests: () => number; close: () => Promise<void> }> {
  let bytes = 0;
  let requests = 0;
  const server: Server = createServer((req, res) => {
    req.on('data', (chunk: Buffer) => (bytes += chunk.length));
    req.on('end', () => {
      requests += 1;
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    bytes: () => bytes,
    requests: () => requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
