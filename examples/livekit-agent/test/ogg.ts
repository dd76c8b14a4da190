import { readFileSync } from 'node:fs';

/**
 * The duration of an Ogg Opus file in seconds: the last page's granule position (48 kHz samples)
 * minus the pre-skip of the OpusHead. Debian's sox cannot read Opus, so the test reads it itself.
 */
export function oggOpusDuration(path: string): number {
  const data = readFileSync(path);
  const head = data.indexOf('OpusHead');
  if (head < 0) throw new Error(`${path} is not Ogg Opus`);
  const preSkip = data.readUInt16LE(head + 10);
  const last = data.lastIndexOf('OggS');
  const granule = data.readBigUInt64LE(last + 6);
  return (Number(granule) - preSkip) / 48_000;
}
