/**
 * Ages the way kubectl prints them: `45s`, `3m12s`, `17m`, `5h`, `3d`, `2y`.
 *
 * @module
 */

const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

/**
 * The time since `iso`, or `<unknown>` when it does not parse.
 *
 * @example formatAge('2024-01-01T00:00:00Z', Date.parse('2024-01-01T00:05:00Z')) // '5m'
 */
export function formatAge(iso: string | undefined, now: number = Date.now()): string {
  const then = iso ? Date.parse(iso) : Number.NaN;
  if (Number.isNaN(then)) return '<unknown>';
  const ms = Math.max(0, now - then);
  if (ms < 2 * M) return `${Math.floor(ms / S)}s`;
  if (ms < 10 * M) return two(ms, M, 'm', S, 's');
  if (ms < 3 * H) return `${Math.floor(ms / M)}m`;
  if (ms < 8 * H) return two(ms, H, 'h', M, 'm');
  if (ms < 2 * D) return `${Math.floor(ms / H)}h`;
  if (ms < 365 * D) return `${Math.floor(ms / D)}d`;
  return `${Math.floor(ms / (365 * D))}y`;
}

/** `3m12s`, or `3m` when the smaller unit is zero. */
function two(ms: number, big: number, bigUnit: string, small: number, smallUnit: string): string {
  const rest = Math.floor((ms % big) / small);
  return `${Math.floor(ms / big)}${bigUnit}${rest > 0 ? `${rest}${smallUnit}` : ''}`;
}
