import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';

/** Why a report could not be written. */
export class ReportWriteError extends Error {
  constructor(
    readonly path: string,
    readonly reason: 'timeout' | 'io',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ReportWriteError';
  }
}

/**
 * Writes `content` to `path` atomically: a temporary file in the same
 * directory, then a rename, so a reader (or a crash) sees the old file or the
 * new one, never half of one. Gives up after `timeoutMs` (the caller is
 * usually a shutdown path that must not hang), removing the temporary file.
 */
export async function writeFileAtomic(path: string, content: string | Uint8Array, options: { timeoutMs?: number } = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 2_000;
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let timer: NodeJS.Timeout | undefined;
  const abort = new AbortController();
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      // the write goes on in the background: stop it, and never let it rename late
      abort.abort();
      reject(new ReportWriteError(path, 'timeout', `writing ${path} took longer than ${timeoutMs} ms; gave up`));
    }, timeoutMs);
    timer.unref();
  });
  const write = (async () => {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(temporary, content, { signal: abort.signal });
    if (abort.signal.aborted) return;
    await rename(temporary, path);
  })();
  write.catch(() => rm(temporary, { force: true }).catch(() => {}));
  try {
    await Promise.race([write, deadline]);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => {});
    if (error instanceof ReportWriteError) throw error;
    throw new ReportWriteError(path, 'io', `could not write ${path}: ${(error as Error).message}`, { cause: error });
  } finally {
    clearTimeout(timer);
  }
}
