import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/** What a provider stand-in saw and did, on the wall clock (epoch ms): the truth tests compare against. */
export interface ServerEvent {
  at: number;
  /** `request`, `first_byte`, `final_transcript`, `usage`, `fault`, `connect`, `close` ... */
  type: string;
  /** Which endpoint (`chat`, `speech`, `listen` ...). */
  endpoint: string;
  [key: string]: unknown;
}

type HttpHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void | Promise<void>;
type WsHandler = (socket: WebSocket, req: IncomingMessage) => void;
/** Refuses a WebSocket upgrade with an HTTP answer (a provider's 401/503 on connect), or lets it through (undefined). */
type WsReject = (req: IncomingMessage) => { status: number; body?: string } | undefined;

/**
 * A loopback HTTP + WebSocket server for one provider's wire protocol: routes by method and path
 * prefix, and keeps an event log of what it served and when.
 */
export class StandInServer {
  readonly events: ServerEvent[] = [];
  private readonly http: Server;
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly routes: Array<{ method: string; prefix: string; handler: HttpHandler }> = [];
  private readonly wsRoutes: Array<{ prefix: string; handler: WsHandler; reject?: WsReject | undefined }> = [];
  private readonly sockets = new Set<WebSocket>();
  private port = 0;

  constructor(readonly name: string) {
    this.http = createServer((req, res) => void this.handle(req, res));
    this.http.on('upgrade', (req, socket, head) => {
      const route = this.wsRoutes.find((r) => (req.url ?? '').startsWith(r.prefix));
      if (!route) {
        socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
        return;
      }
      const refused = route.reject?.(req);
      if (refused) {
        const body = refused.body ?? '';
        socket.end(`HTTP/1.1 ${refused.status} Refused\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        this.sockets.add(ws);
        ws.on('close', () => this.sockets.delete(ws));
        route.handler(ws, req);
      });
    });
  }

  /** Records one event now (or at `at`). */
  log(endpoint: string, type: string, fields: Record<string, unknown> = {}, at = Date.now()): ServerEvent {
    const event = { at, type, endpoint, ...fields };
    this.events.push(event);
    return event;
  }

  /** Events of `type` (and `endpoint`), oldest first. */
  find(type: string, endpoint?: string): ServerEvent[] {
    return this.events.filter((e) => e.type === type && (endpoint === undefined || e.endpoint === endpoint));
  }

  route(method: string, prefix: string, handler: HttpHandler): this {
    this.routes.push({ method, prefix, handler });
    return this;
  }

  websocket(prefix: string, handler: WsHandler, options: { reject?: WsReject } = {}): this {
    this.wsRoutes.push({ prefix, handler, reject: options.reject });
    return this;
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.http.listen(0, '127.0.0.1', resolve));
    this.port = (this.http.address() as AddressInfo).port;
    return this;
  }

  get httpUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.terminate();
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const route = this.routes.find((r) => r.method === req.method && (req.url ?? '').startsWith(r.prefix));
    if (!route) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}` } }));
      return;
    }
    try {
      await route.handler(req, res, Buffer.concat(chunks));
    } catch (error) {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: String(error) } }));
    }
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Sleeps until the wall clock reads `at` (epoch ms); returns at once when it is past. */
export const sleepUntil = (at: number): Promise<void> => sleep(at - Date.now());

/**
 * A tone of `seconds` as 16-bit little-endian mono PCM: what a TTS stand-in "speaks" (any
 * non-silent audio does; the length is what matters to the figures).
 */
export function tonePcm(seconds: number, sampleRate: number, hz = 180): Buffer {
  const samples = Math.round(seconds * sampleRate);
  const buffer = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) buffer.writeInt16LE(Math.round(3000 * Math.sin((2 * Math.PI * hz * i) / sampleRate)), i * 2);
  return buffer;
}
