/**
 * Durations as operators write them: `300ms`, `30s`, `5m`, `1h`, `1h30m`,
 * and the one rule for arming a timer from one: {@link timerDelay}. Each
 * field's range is in `duration-ranges.ts` (which needs zod; this module
 * stays light for the CLI's flags).
 *
 * @module
 */

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^(\d+(?:ms|s|m|h|d))+$/;
const PART = /(\d+)(ms|s|m|h|d)/g;
/** Longer text is refused before any parsing. */
export const MAX_DURATION_TEXT = 32;

/**
 * The longest delay Node's `setTimeout` keeps: 2^31-1 ms, about 24.8 days.
 * A longer one is not kept: Node warns and fires it after 1 ms.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** True when `text` is a well-formed duration (any value; ranges are per field). */
export function isDuration(text: string): boolean {
  return text.length <= MAX_DURATION_TEXT && DURATION.test(text);
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

/** Milliseconds as duration text in hours at most: `86400000` -> `24h`, `90000` -> `1m30s`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let text = '';
  for (const unit of ['h', 'm', 's', 'ms'] as const) {
    const size = UNIT_MS[unit];
    const n = Math.floor(rest / size);
    if (n > 0) text += `${n}${unit}`;
    rest -= n * size;
  }
  return text;
}

/**
 * The delay to arm a timer with for a deadline of `ms` taken from
 * configuration: `undefined` for 0 (no deadline: arm nothing), else `ms` up
 * to {@link MAX_TIMER_MS}. A longer deadline waits MAX_TIMER_MS (24.8 days)
 * rather than firing at once, as `setTimeout` would do with it.
 *
 * @throws TypeError for a negative or non-finite `ms` (a programming error: durations are parsed first).
 */
export function timerDelay(ms: number): number | undefined {
  if (!Number.isFinite(ms) || ms < 0) throw new TypeError(`not a delay: ${ms}`);
  if (ms === 0) return undefined;
  return Math.min(ms, MAX_TIMER_MS);
}
