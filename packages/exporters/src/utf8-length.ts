/** Strings at least this long are measured by Node; shorter ones in a loop (no call overhead). */
export const NATIVE_STRING = 48;

/** UTF-8 length of a string (lone surrogates count 3 bytes, as Node encodes them: U+FFFD). */
export function utf8Length(text: string): number {
  const n = text.length;
  if (n >= NATIVE_STRING) return Buffer.byteLength(text, 'utf8');
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 2; // a pair: 4 bytes for 2 code units
      i++;
    } else bytes += 2;
  }
  return bytes;
}
