import { createReadStream } from 'node:fs';

/** One line of a text file: its 1-based number and text, or how long it was when it exceeded the limit. */
export type Line =
  | { readonly number: number; readonly text: string; readonly tooLong?: undefined; readonly lastWithoutNewline: boolean }
  | { readonly number: number; readonly text?: undefined; readonly tooLong: number; readonly lastWithoutNewline: boolean };

/** The default limit of one line (64 MiB): an OTLP/JSON request is a few MB at most. */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024;

const NEWLINE = 0x0a;

/**
 * The lines of a file, streamed: memory stays bounded by `maxLineBytes` whatever the file holds
 * (a line longer than that is skipped and reported with its length, never buffered whole).
 * `\r\n` endings are accepted; blank lines are skipped.
 */
export async function* readLines(path: string, maxLineBytes = DEFAULT_MAX_LINE_BYTES): AsyncGenerator<Line> {
  const decoder = new TextDecoder('utf-8');
  let parts: Buffer[] = [];
  let size = 0;
  let overflow = 0; // bytes of the current line seen since it passed the limit (0: within the limit)
  let number = 0;
  const finish = (last: boolean): Line | undefined => {
    number++;
    if (overflow) {
      const line: Line = { number, tooLong: size + overflow, lastWithoutNewline: last };
      parts = [];
      size = 0;
      overflow = 0;
      return line;
    }
    const text = decoder.decode(parts.length === 1 ? parts[0] : Buffer.concat(parts, size)).replace(/\r$/, '');
    parts = [];
    size = 0;
    return text.trim() ? { number, text, lastWithoutNewline: last } : undefined;
  };
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    let from = 0;
    while (from < chunk.length) {
      const at = chunk.indexOf(NEWLINE, from);
      const end = at === -1 ? chunk.length : at;
      take(chunk.subarray(from, end));
      if (at === -1) break;
      const line = finish(false);
      if (line) yield line;
      from = at + 1;
    }
  }
  if (size || overflow) {
    const line = finish(true);
    if (line) yield line;
  }

  function take(piece: Buffer): void {
    if (!piece.length) return;
    if (overflow || size + piece.length > maxLineBytes) {
      // past the limit: count, do not keep
      if (!overflow) {
        overflow = piece.length;
        return;
      }
      overflow += piece.length;
      return;
    }
    parts.push(piece);
    size += piece.length;
  }
}

/** The lines of a string, with the same shape as {@link readLines}. */
export function* splitLines(text: string, maxLineBytes = DEFAULT_MAX_LINE_BYTES): Generator<Line> {
  let number = 0;
  let from = 0;
  while (from <= text.length) {
    const at = text.indexOf('\n', from);
    const end = at === -1 ? text.length : at;
    number++;
    const raw = text.slice(from, end).replace(/\r$/, '');
    const last = at === -1;
    // a UTF-16 length is a lower bound of the UTF-8 length: only measure when it matters
    const bytes = raw.length * 3 > maxLineBytes ? Buffer.byteLength(raw) : raw.length;
    if (bytes > maxLineBytes) yield { number, tooLong: bytes, lastWithoutNewline: last };
    else if (raw.trim()) yield { number, text: raw, lastWithoutNewline: last };
    if (at === -1) break;
    from = at + 1;
  }
}
