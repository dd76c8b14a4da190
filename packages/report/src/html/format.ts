/** Text formats shared by the HTML page and the CLI's tables. */

/** `0.5 ms`, `384 ms`, `1384 ms`, `12.3 s`, `3 min 05 s`: latency in the unit people read it in. */
export function formatLatency(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '–';
  const abs = Math.abs(seconds);
  if (abs === 0) return '0 ms';
  if (abs < 0.01) return `${(seconds * 1000).toFixed(1)} ms`;
  if (abs < 10) return `${Math.round(seconds * 1000)} ms`;
  return formatDuration(seconds);
}

/** A signed latency change: `+113 ms`, `-0.4 ms`. */
export function formatLatencyChange(seconds: number): string {
  const text = formatLatency(seconds);
  return seconds > 0 ? `+${text}` : text;
}

/** `27.9 s`, `3 min 05 s`, `1 h 02 min`. */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '–';
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** An estimated cost in USD: `$0`, `$0.00287`, `$0.0348`, `$12.40`. */
export function formatUsd(usd: number | undefined): string {
  if (usd === undefined || !Number.isFinite(usd)) return '–';
  if (usd === 0) return '$0';
  const abs = Math.abs(usd);
  const sign = usd < 0 ? '-' : '';
  if (abs >= 1) return `${sign}$${abs.toFixed(2)}`;
  if (abs >= 0.01) return `${sign}$${abs.toFixed(4)}`;
  return `${sign}$${trimZeros(abs.toPrecision(3))}`;
}

/** A position in a recording: `0:07.4`, `12:03.0`. */
export function formatOffset(seconds: number): string {
  const s = Math.max(0, seconds);
  const minutes = Math.floor(s / 60);
  const rest = s - minutes * 60;
  return `${minutes}:${rest.toFixed(1).padStart(4, '0')}`;
}

/** `4,350`. */
export function formatCount(n: number | undefined): string {
  return n === undefined || !Number.isFinite(n) ? '–' : Math.round(n).toLocaleString('en-US');
}

/** `12.5%`. */
export function formatPercent(ratio: number | undefined, digits = 1): string {
  return ratio === undefined || !Number.isFinite(ratio) ? '–' : `${(ratio * 100).toFixed(digits)}%`;
}

/** `2026-11-25 19:36:53 UTC`. */
export function formatEpoch(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '–';
  const date = new Date(seconds * 1000);
  if (Number.isNaN(date.getTime())) return `${seconds} s since 1970`; // beyond what Date can show
  return date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

function trimZeros(text: string): string {
  // toPrecision may use exponent notation for tiny values: keep it plain
  const n = Number(text);
  const plain = n < 1e-6 ? n.toFixed(10) : text;
  return plain.includes('.') ? plain.replace(/0+$/, '').replace(/\.$/, '') : plain;
}
