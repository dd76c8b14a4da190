import type { ReceivedMedia } from './media.js';
import type { IngestedObservation, IngestedTrace } from './ingestion.js';
import type { ReceivedScore } from './scores.js';

/** An attribute value as the contract server decoded it: OTLP `AnyValue` as plain JavaScript. */
export type ReceivedValue = string | number | boolean | Uint8Array | null | ReceivedValue[] | { [key: string]: ReceivedValue };

/** One span the contract server accepted, decoded into plain values for assertions. */
export interface ReceivedSpan {
  /** 32 lowercase hex characters. */
  traceId: string;
  /** 16 lowercase hex characters. */
  spanId: string;
  /** 16 lowercase hex characters; absent on a root span. */
  parentSpanId?: string;
  name: string;
  /** OTLP span kind: 0 unspecified, 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  /** Nanoseconds since the epoch, as a decimal string (64-bit). */
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  /** Span attributes; an int64 beyond 2^53 stays a decimal string. */
  attributes: Record<string, ReceivedValue>;
  /** The attributes of the span's resource. */
  resourceAttributes: Record<string, ReceivedValue>;
  /** The instrumentation scope's name. */
  scopeName: string;
  scopeVersion?: string;
  /** OTLP status: code 0 unset, 1 ok, 2 error. */
  status: { code: number; message?: string };
  events: Array<{ name: string; timeUnixNano: string; attributes: Record<string, ReceivedValue> }>;
  links: Array<{ traceId: string; spanId: string; attributes: Record<string, ReceivedValue> }>;
}

/** One HTTP request the contract server answered. */
export interface ContractRequest {
  method: string;
  path: string;
  /** The status the server answered with. */
  status: number;
  /** The request headers the contract looks at (lowercase names, as received). */
  headers: {
    authorization?: string;
    contentType?: string;
    contentEncoding?: string;
    ingestionVersion?: string;
    userAgent?: string;
  };
  /** Spans accepted from this request (0 unless the status is 200). */
  spanCount: number;
  /** The `error` text of a non-200 answer. */
  error?: string;
}

/** Options of {@link startLangfuseContractServer}. */
export interface LangfuseContractServerOptions {
  /** The public key requests must authenticate with. */
  publicKey: string;
  /** The secret key requests must authenticate with. */
  secretKey: string;
  /** Answer the first N authenticated requests with 429 and `Retry-After`. Default 0. */
  rateLimitFirst?: number | undefined;
  /** The `Retry-After` of those 429s, in seconds. Default 1. */
  retryAfterSeconds?: number | undefined;
}

/** A running contract server; `close()` it when done. */
export interface LangfuseContractServer {
  /** The base URL to configure as `LANGFUSE_BASE_URL`, e.g. `http://127.0.0.1:40123`. */
  readonly baseUrl: string;
  /** `baseUrl` + `/api/public/otel/v1/traces`. */
  readonly tracesUrl: string;
  /** Every request answered, in order. */
  readonly requests: readonly ContractRequest[];
  /** Every span accepted, in arrival order. */
  readonly spans: readonly ReceivedSpan[];
  /** Every score accepted by `POST /api/public/scores`, in arrival order. */
  readonly scores: readonly ReceivedScore[];
  /** The media objects of `POST /api/public/media` (see `media.ts`): their links, bytes and reported upload status. */
  media(): ReceivedMedia[];
  /** The accepted spans as the observations LangFuse would store (see `ingestion.ts`), in arrival order. */
  observations(): IngestedObservation[];
  /** The traces LangFuse would store after merging every trace event of the accepted spans. */
  traces(): IngestedTrace[];
  /**
   * Answers the next `times` requests (default: all) with `status` before any check runs, as a proxy
   * or an overloaded LangFuse would: for retry tests.
   */
  failNext(status: number, times?: number, headers?: Record<string, string>): void;
  /** Forgets requests, spans, observations, traces, scores, pending failures and the rate-limit count. */
  reset(): void;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}
