// Plain-text tables that fit the terminal: the last column is cut to the width left.

export function renderTable(header: string[], rows: string[][], width = 120): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fixed = widths.slice(0, -1).reduce((a, b) => a + b + 2, 0);
  const last = widths.length - 1;
  widths[last] = Math.max(header[last]!.length, Math.min(widths[last]!, width - fixed));
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (i === last ? clip(cell, widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

function clip(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}
