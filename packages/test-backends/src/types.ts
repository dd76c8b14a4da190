/**
 * A backend the harness knows how to obtain: observability servers (`collector`, `jaeger`,
 * `prometheus`, `tempo`), a real LiveKit media server (`livekit`), S3-compatible storage (`s3`,
 * gofakes3), a scripted caller's voice (`speech`: espeak-ng + sox) and a headless browser
 * (`chromium`: Debian's package, driven by playwright-core for the HTML report's tests).
 */
export type BackendName = 'collector' | 'jaeger' | 'prometheus' | 'tempo' | 'livekit' | 's3' | 'speech' | 'chromium';

/** The outcome of {@link ensureBinary}: a path to run, or why there is none. */
export type BinaryResult =
  | { readonly name: BackendName; readonly available: true; readonly path: string }
  | {
      readonly name: BackendName;
      readonly available: false;
      /** Human-readable reason, shown in skip messages. */
      readonly reason: string;
      /** True when the backend can never be obtained on this kind of machine (e.g. Tempo): CI skips instead of failing. */
      readonly permanent: boolean;
    };

/** A server process started by the harness, running in its own process group. */
export interface ProcessHandle {
  /** Short label for messages, e.g. `collector#1`. */
  readonly label: string;
  /** Where stdout and stderr go (kept after stop, for debugging). */
  readonly logFile: string;
  /** The directory holding generated configs, data and logs of this instance. */
  readonly workDir: string;
  /** Current pid (changes on restart); undefined while stopped. */
  readonly pid: number | undefined;
  /** SIGTERM the process group, SIGKILL after a grace period; resolves once it has exited. Idempotent. */
  stop(): Promise<void>;
  /** Stop, then start again with the same ports, config and data directory (for outage tests). */
  restart(): Promise<void>;
  /**
   * Sends `signal` (default SIGKILL: a crash, no graceful shutdown) to the process group and
   * resolves once it has exited; `start()`/`restart()` bring it back on the same ports and data.
   */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the process again after stop()/kill() (same ports, config and data) and waits until it is ready. */
  start(): Promise<void>;
  /** The last `lines` lines of the log. */
  logTail(lines?: number): string;
}

export interface CollectorOptions {
  /**
   * Config files, merged in order by the Collector. Relative paths are resolved against the
   * repository's `collector-config/` directory. Default: `['sidecar.yaml']`.
   */
  configFiles?: readonly string[];
  /** Extra environment for the Collector (e.g. `VOICETRACE_JAEGER_ENDPOINT`); overrides the harness's port variables. */
  env?: Readonly<Record<string, string>>;
  /** Readiness timeout in ms (default 30 000). */
  readyTimeoutMs?: number;
}

export interface CollectorHandle extends ProcessHandle {
  readonly ports: {
    readonly otlpGrpc: number;
    readonly otlpHttp: number;
    readonly health: number;
    readonly prometheus: number;
    readonly internalMetrics: number;
  };
  /** `host:port` of the OTLP/gRPC receiver. */
  readonly otlpGrpcEndpoint: string;
  /** Base URL of the OTLP/HTTP receiver, e.g. `http://127.0.0.1:43123` (POST `/v1/traces`). */
  readonly otlpHttpUrl: string;
  /** `host:port` of the spanmetrics Prometheus exporter (scrape target). */
  readonly prometheusTarget: string;
  /**
   * The Collector's own metrics (`otelcol_*`, Prometheus text format) as samples, e.g.
   * `otelcol_receiver_accepted_spans_total`, `otelcol_exporter_sent_spans_total{exporter="otlp_grpc/jaeger"}`.
   * Counters restart from zero when the Collector restarts.
   */
  internalMetrics(): Promise<PromSample[]>;
  /** The persistent sending queue's directory (survives restart()). */
  readonly queueDir: string;
  readonly configFiles: readonly string[];
}

export interface JaegerOptions {
  readyTimeoutMs?: number;
}

/** A span as Jaeger's query API returns it, with tags flattened into a map. */
export interface JaegerSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly operationName: string;
  readonly parentSpanId: string | undefined;
  readonly serviceName: string | undefined;
  /** Microseconds since the epoch. */
  readonly startTime: number;
  /** Microseconds. */
  readonly duration: number;
  readonly tags: Readonly<Record<string, unknown>>;
  /** Jaeger's type of each tag (`string`, `bool`, `int64`, `float64`, `binary`): shows whether a double stayed a double. */
  readonly tagTypes: Readonly<Record<string, string>>;
  /** FOLLOWS_FROM references (OTLP span links), e.g. a turn trace's link to its session span. */
  readonly links: ReadonlyArray<{ readonly traceId: string; readonly spanId: string }>;
}

export interface JaegerTrace {
  readonly traceId: string;
  readonly spans: readonly JaegerSpan[];
}

export interface JaegerHandle extends ProcessHandle {
  readonly ports: { readonly otlpGrpc: number; readonly otlpHttp: number; readonly query: number; readonly queryGrpc: number; readonly health: number };
  /** `host:port` of Jaeger's OTLP/gRPC receiver (use as VOICETRACE_JAEGER_ENDPOINT). */
  readonly otlpGrpcEndpoint: string;
  readonly otlpHttpUrl: string;
  /** Base URL of the query API (`/api/traces/<id>`, `/api/services`). */
  readonly queryUrl: string;
  /** The trace, or undefined when Jaeger does not have it (404). */
  getTrace(traceIdHex: string): Promise<JaegerTrace | undefined>;
  /** Polls getTrace until the trace has at least `minSpans` spans (default 1) or the timeout (default 20 s) expires. */
  waitForTrace(traceIdHex: string, opts?: { minSpans?: number; timeoutMs?: number }): Promise<JaegerTrace>;
  /** The raw JSON body of `/api/traces/<id>` (e.g. to search it for text that must not be there), or undefined on 404. */
  getTraceJson(traceIdHex: string): Promise<string | undefined>;
  /**
   * Jaeger's trace search (`/api/traces?service=...`): whole traces having a span that matches
   * `operation` and every `tags` entry (values compared as strings, e.g. `{ 'voicetrace.turn.interrupted': 'true' }`).
   * Numeric ranges on tags are not supported by Jaeger: filter the returned spans instead.
   */
  findTraces(query: JaegerSearch): Promise<JaegerTrace[]>;
}

/** A Jaeger trace search. */
export interface JaegerSearch {
  service: string;
  operation?: string;
  tags?: Readonly<Record<string, string>>;
  /** Default 1000. */
  limit?: number;
  /** Default `1h`. */
  lookback?: string;
}

export interface PrometheusOptions {
  /** `host:port` targets to scrape (e.g. `collector.prometheusTarget`). */
  scrapeTargets: readonly string[];
  /** Scrape interval (default `1s`). */
  scrapeInterval?: string;
  readyTimeoutMs?: number;
}

/** One series of an instant query. */
export interface PromSample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface PrometheusHandle extends ProcessHandle {
  readonly port: number;
  readonly url: string;
  /** Instant query (`/api/v1/query`); vector and scalar results become samples. */
  query(promql: string): Promise<PromSample[]>;
  /** Polls `query` until `predicate` accepts the samples or the timeout (default 20 s) expires; returns the last samples. */
  waitForQuery(promql: string, predicate: (samples: PromSample[]) => boolean, opts?: { timeoutMs?: number }): Promise<PromSample[]>;
}

export interface LivekitServerOptions {
  /** Server log level (default `info`; `--dev` alone would log at `debug`). */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /**
   * Extra livekit-server config, deep-merged over the harness's (e.g. `{ room: { empty_timeout: 10 } }`,
   * `{ webhook: { api_key: 'devkey', urls: ['http://127.0.0.1:PORT/hook'] } }`). The server rejects unknown
   * keys. Overriding the ports or `rtc.node_ip` breaks the loopback-only, no-fixed-port guarantees.
   */
  config?: Readonly<Record<string, unknown>>;
  /** Readiness timeout in ms (default 30 000). */
  readyTimeoutMs?: number;
}

export interface LivekitServerHandle extends ProcessHandle {
  readonly ports: {
    /** Signalling (WebSocket) and Twirp API (RoomService, AgentDispatch, ...): TCP on 127.0.0.1. */
    readonly http: number;
    /** ICE/TCP media (`rtc.tcp_port`). livekit-server binds this one on all interfaces (not configurable). */
    readonly rtcTcp: number;
    /** ICE/UDP media, one muxed port (`rtc.udp_port`), on 127.0.0.1. */
    readonly rtcUdp: number;
  };
  /** `ws://127.0.0.1:PORT`: for `@livekit/rtc-node`'s `Room.connect` and `LIVEKIT_URL` of an agent worker. */
  readonly url: string;
  /** `http://127.0.0.1:PORT`: for `livekit-server-sdk`'s `RoomServiceClient`, `AgentDispatchClient`, ... */
  readonly httpUrl: string;
  /** `devkey` (the `--dev` key). */
  readonly apiKey: string;
  /** `secret` (the `--dev` secret). */
  readonly apiSecret: string;
  /** The generated config file. */
  readonly configFile: string;
}

export interface S3Options {
  /**
   * `memory` (default): objects live in the process and are lost on stop/restart/kill. `fs`: objects
   * are files under `<workDir>/data`, kept across restart()/kill()+start().
   */
  backend?: 'memory' | 'fs';
  /** A bucket created at startup. Buckets are also created on first use (`-autobucket`). */
  initialBucket?: string;
  /** Readiness timeout in ms (default 15 000). */
  readyTimeoutMs?: number;
}

export interface S3Handle extends ProcessHandle {
  readonly port: number;
  /** `http://127.0.0.1:PORT`. Use path-style addressing (`forcePathStyle: true`). */
  readonly endpoint: string;
  /** `us-east-1` (gofakes3 accepts any region). */
  readonly region: string;
  /** Fake credentials (gofakes3 does not check signatures). */
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Ready to pass to `new S3Client(...)` from `@aws-sdk/client-s3`. */
  readonly clientConfig: {
    readonly endpoint: string;
    readonly region: string;
    readonly forcePathStyle: true;
    readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  };
  /** The environment variables AWS SDKs and tools read (`AWS_ENDPOINT_URL_S3`, `AWS_REGION`, keys, ...). */
  readonly env: Readonly<Record<string, string>>;
}

/** The binaries of the `speech` backend. */
export interface SpeechTools {
  /** espeak-ng: text to speech, WAV at 22,050 Hz mono. */
  readonly espeakNg: string;
  /** sox: resampling and measuring audio. */
  readonly sox: string;
}
