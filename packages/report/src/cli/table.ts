/** A plain-text table: columns padded to their widest cell; `r` columns right-aligned. */
export function textTable(rows: string[][], align: Array<'l' | 'r'> = [], indent = '  '): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, width(cell))));
  return rows
    .map((row) =>
      (
        indent +
        row
          .map((cell, i) => {
            const pad = ' '.repeat((widths[i] ?? 0) - width(cell));
            return align[i] === 'r' ? pad + cell : cell + pad;
          })
          .join('  ')
      ).trimEnd(),
    )
    .join('\n');
}

function width(text: string): number {
  return [...text].length;
}
