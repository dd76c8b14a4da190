/**
 * Attaches a turn's audio clips to its LangFuse observations through LangFuse's media API, with
 * LangFuse's own client code (`uploadMedia` and `LangfuseMedia` of `@langfuse/core`, the package
 * `@langfuse/client` is built on): `POST /api/public/media` (trace, observation, field, content type,
 * length, SHA-256) answers a presigned upload URL, the bytes go there with `PUT`, and
 * `PATCH /api/public/media/{id}` reports the upload. The clip then belongs to that observation's field
 * (the user's speech to the `user_turn` observation's input, the reply to the `agent_turn`'s output).
 */
import { diag } from '@opentelemetry/api';
import type { LangfuseClient } from '@langfuse/client';
import { LangfuseMedia, uploadMedia } from '@langfuse/core';
import { redactUrl, scrubSecrets, type ExportLogger } from '@voicetrace/exporters';
import { langfuseApi } from './api-client.js';
import { readFile, stat } from 'node:fs/promises';
import type { LangfuseConfig } from './types.js';

/** One clip to attach. */
export interface ClipMediaRecord {
  /** The trace (32 hex) and the observation (the span id, 16 hex) the clip belongs to. */
  traceId: string;
  observationId: string;
  /** `input` for the user's speech, `output` for the agent's reply. */
  field: 'input' | 'output';
  /** A WAV file. */
  path: string;
}

/** What happened to one clip. */
export type ClipMediaOutcome = 'uploaded' | 'failed' | 'too_large' | 'invalid';

export interface LangfuseClipsOptions {
  /** Clips larger than this are not sent (counted `tooLarge`). Default 8 MiB (a 4-minute 16 kHz WAV). */
  maxBytes?: number | undefined;
  /** Retries of the upload itself (LangFuse's client backs off). Default 2. */
  maxRetries?: number | undefined;
  /** Where the one error message goes besides `diag.error`. Default `console.error`. */
  logger?: ExportLogger | undefined;
}

export interface LangfuseClipsStats {
  uploaded: number;
  failed: number;
  tooLarge: number;
  invalid: number;
  /** Bytes uploaded. */
  bytes: number;
}

const DEFAULT_MAX_BYTES = 8 * 1024 * 1024;

/** Uploads clips to LangFuse's media API. Never throws into the caller; failures are counted and the first is logged once. */
export class LangfuseClips {
  private readonly client: LangfuseClient;
  private readonly counts: LangfuseClipsStats = { uploaded: 0, failed: 0, tooLarge: 0, invalid: 0, bytes: 0 };
  private readonly logger: ExportLogger;
  private readonly secrets: string[];
  private reported = false;

  constructor(
    config: LangfuseConfig,
    private readonly options: LangfuseClipsOptions = {},
  ) {
    ({ client: this.client, secrets: this.secrets } = langfuseApi(config));
    this.logger = options.logger ?? ((message) => console.error(message));
  }

  /** Attaches one clip; resolves its outcome, never rejects. */
  async attach(record: ClipMediaRecord): Promise<ClipMediaOutcome> {
    if (!/^[0-9a-f]{32}$/.test(record.traceId) || !/^[0-9a-f]{16}$/.test(record.observationId)) return this.count('invalid');
    try {
      const size = (await stat(record.path)).size;
      if (size > (this.options.maxBytes ?? DEFAULT_MAX_BYTES)) return this.count('too_large');
      const bytes = new Uint8Array(await readFile(record.path));
      const media = new LangfuseMedia({ source: 'bytes', contentBytes: bytes, contentType: 'audio/wav' });
      await uploadMedia({ apiClient: this.client.api, media, traceId: record.traceId, observationId: record.observationId, field: record.field, maxRetries: this.options.maxRetries ?? 2, baseDelay: 250 });
      this.counts.bytes += bytes.byteLength;
      return this.count('uploaded');
    } catch (error) {
      this.reportOnce(record, error);
      return this.count('failed');
    }
  }

  stats(): LangfuseClipsStats {
    return { ...this.counts };
  }

  private count(outcome: ClipMediaOutcome): ClipMediaOutcome {
    if (outcome === 'uploaded') this.counts.uploaded += 1;
    else if (outcome === 'failed') this.counts.failed += 1;
    else if (outcome === 'too_large') this.counts.tooLarge += 1;
    else this.counts.invalid += 1;
    return outcome;
  }

  private reportOnce(record: ClipMediaRecord, error: unknown): void {
    if (this.reported) return;
    this.reported = true;
    const detail = error as { statusCode?: number; message?: string };
    const message = scrubSecrets(
      redactUrl(
        `voicetrace: attaching a clip to LangFuse failed (observation ${record.observationId}, ${record.field})${detail.statusCode !== undefined ? ` (HTTP ${detail.statusCode})` : ''}: ${detail.message ?? String(error)}. Further failures are only counted.`,
      ),
      this.secrets,
    );
    diag.error(message);
    try {
      this.logger(message);
    } catch {
      // a broken logger must not break the upload
    }
  }
}
