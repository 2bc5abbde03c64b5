/**
 * Durations as operators write them: `300ms`, `30s`, `5m`, `1h`, `1h30m`.
 *
 * @module
 */

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^(\d+(?:ms|s|m|h|d))+$/;
const PART = /(\d+)(ms|s|m|h|d)/g;

/** True when `text` is a well-formed duration. */
export function isDuration(text: string): boolean {
  return text.length <= 32 && DURATION.test(text);
}

/**
 * Parses a duration into milliseconds.
 *
 * @example parseDuration('1h30m') // 5_400_000
 * @throws TypeError when the text is not a duration (validate with {@link isDuration} first).
 */
export function parseDuration(text: string): number {
  if (!isDuration(text))
    throw new TypeError(`not a duration: ${JSON.stringify(text)} (use e.g. 30s, 5m, 1h)`);
  let total = 0;
  for (const [, n, unit] of text.matchAll(PART)) total += Number(n) * UNIT_MS[unit as keyof typeof UNIT_MS];
  return total;
}
