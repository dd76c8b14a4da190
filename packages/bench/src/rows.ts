/** One line of the bench's table. */
export interface Row {
  /** Stable id (for the results JSON and RESULTS.md). */
  id: string;
  label: string;
  unit: string;
  stock?: number | undefined;
  voicetrace?: number | undefined;
  /** voicetrace / stock, when the two compare. */
  ratio?: number | undefined;
  /** The target as people read it ("<= 1.25x"). */
  target?: string | undefined;
  met?: boolean | undefined;
  /** What else to know (a skip, the spread, a derived figure). */
  note?: string | undefined;
  /** Digits after the point (default 1). */
  digits?: number | undefined;
}

/** What a section measured: its rows, and details for RESULTS.md. */
export interface Section {
  name: string;
  rows: Row[];
  details?: Record<string, unknown> | undefined;
}

export function ratioRow(row: Omit<Row, 'ratio' | 'met'> & { stock: number; voicetrace: number; max?: number; min?: number }): Row {
  const ratio = row.voicetrace / row.stock;
  const met = row.max !== undefined ? ratio <= row.max : row.min !== undefined ? ratio >= row.min : undefined;
  const { max: _max, min: _min, ...rest } = row;
  return { ...rest, ratio, met };
}

const SKIPPED = 'SKIPPED';

/** A Collector row that cannot run: said in the table, loudly. */
export function skippedRow(id: string, label: string, why: string, target?: string): Row {
  return { id, label, unit: '', target, met: undefined, note: `${SKIPPED}: ${why}` };
}

/** What the verdict column says of a row with no verdict: SKIPPED, or `-` (a row reported, not judged). */
export function noVerdict(row: Row): string {
  return row.note?.startsWith(SKIPPED) ? SKIPPED : '-';
}

const fmt = (value: number | undefined, unit: string, digits = 1): string => (value === undefined || !Number.isFinite(value) ? '' : `${value.toFixed(digits)}${unit ? ` ${unit}` : ''}`);

/** The table as text for the terminal. */
export function renderTable(rows: readonly Row[]): string {
  const header = ['metric', 'stock', 'voicetrace', 'ratio', 'target', 'met?'];
  const lines = rows.map((r) => [
    r.label,
    fmt(r.stock, r.unit, r.digits),
    fmt(r.voicetrace, r.unit, r.digits),
    r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}x`,
    r.target ?? '',
    r.met === undefined ? noVerdict(r) : r.met ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(line)];
  const notes = rows.filter((r) => r.note).map((r) => `  ${r.label}: ${r.note}`);
  return [...out, ...(notes.length ? ['', 'notes:', ...notes] : [])].join('\n');
}
