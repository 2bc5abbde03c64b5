/**
 * Plain-text tables in kubectl's layout: upper-case headers, columns padded
 * to their widest cell, three spaces apart, no borders.
 *
 * @module
 */

/**
 * @example
 * renderTable(['NAME', 'AGE'], [['orders', '5m']]) // 'NAME     AGE\norders   5m'
 */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('   ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}
