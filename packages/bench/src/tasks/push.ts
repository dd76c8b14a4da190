import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { Agent, request } from 'node:http';
import { voicetraceSpans } from './spans.js';

export interface PushArgs {
  /** OTLP/HTTP base URL of the Collector. */
  endpoint: string;
  seconds: number;
  /** Requests in flight at once. */
  concurrency: number;
  /** Spans per request. */
  batch: number;
}

export interface PushResult {
  /** Requests answered 2xx, and the spans they carried. */
  okRequests: number;
  okSpans: number;
  /** Requests refused (non-2xx: memory_limiter answers 503/429), and by status. */
  refusedRequests: number;
  statuses: Record<string, number>;
  seconds: number;
}

/**
 * Pushes OTLP/HTTP requests of voicetrace-shaped spans (`batch` per request, pre-encoded, distinct
 * copies per request are not needed: the Collector does not deduplicate) with `concurrency`
 * requests in flight, for `seconds`. Node only sends bytes here; the Collector does the work.
 */
export async function pushTask(args: PushArgs): Promise<PushResult> {
  const spans = (await voicetraceSpans(20, 12)).slice(0, args.batch);
  const body = ProtobufTraceSerializer.serializeRequest(spans)!;
  const url = new URL(`${args.endpoint}/v1/traces`);
  const agent = new Agent({ keepAlive: true, maxSockets: args.concurrency });
  const statuses: Record<string, number> = {};
  let ok = 0;
  let refused = 0;
  const deadline = Date.now() + args.seconds * 1000;
  const post = (): Promise<number> =>
    new Promise((resolve) => {
      const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/x-protobuf', 'content-length': String(body.length) } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', () => resolve(0));
      req.end(body);
    });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: args.concurrency }, async () => {
      while (Date.now() < deadline) {
        const status = await post();
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (status >= 200 && status < 300) ok++;
        else refused++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return { okRequests: ok, okSpans: ok * spans.length, refusedRequests: refused, statuses, seconds };
}
