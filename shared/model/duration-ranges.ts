/**
 * The range each duration field of a weft document allows, and the zod
 * schema that enforces it (the API's 422 naming the field).
 *
 * @module
 */
import * as z from 'zod';
import { formatDuration, isDuration, MAX_DURATION_TEXT, parseDuration } from './duration.js';
import { JOIN_TOKEN_MAX_TTL_MS } from './kinds.js';

/**
 * The longest a receiving gateway waits for one call (its
 * `maxIngressTimeoutMs`), so the longest Route `timeout`: 5 minutes.
 */
export const MAX_ROUTE_TIMEOUT_MS = 300_000;
/** The longest the data plane ejects an endpoint for (its `MAX_EJECTION_MS`). */
export const MAX_EJECTION_MS = 300_000;

/** What one duration field allows, in ms, both ends included. */
export interface DurationRange {
  readonly min: number;
  readonly max: number;
  /** When set, `0s` is allowed too, and means this (e.g. "no timeout"). */
  readonly zero?: string;
}

/**
 * The ranges of every duration field of a weft document (docs/architecture.md,
 * "Durations"). The TTLs match what the CA issues (`shared/identity`): X.509-SVIDs
 * 1m..24h, JWT-SVIDs 10s..1h, join tokens at most a day. A Route's timeouts
 * stop at what a receiving gateway waits for at most, and an ejection at the
 * longest the data plane ejects for: a longer value would be accepted and
 * then not kept.
 */
export const DURATION_RANGES = {
  x509SvidTtl: { min: 60_000, max: 24 * 3_600_000 },
  jwtSvidTtl: { min: 10_000, max: 3_600_000 },
  maxTtl: { min: 1000, max: JOIN_TOKEN_MAX_TTL_MS },
  timeout: { min: 1, max: MAX_ROUTE_TIMEOUT_MS, zero: 'no route timeout' },
  perTryTimeout: { min: 1, max: MAX_ROUTE_TIMEOUT_MS },
  baseEjectionTime: { min: 1000, max: MAX_EJECTION_MS },
} as const satisfies Record<string, DurationRange>;

/** A Route rule's `timeout` when it sets none (the compiler's `DEFAULT_TIMEOUT`). */
export const DEFAULT_ROUTE_TIMEOUT = '15s';

/** Whether `ms` is in `range` (0 only where the range gives it a meaning). */
export function inRange(ms: number, range: DurationRange): boolean {
  return (ms === 0 && range.zero !== undefined) || (ms >= range.min && ms <= range.max);
}

/** What `range` allows, for messages: `between 1ms and 1h, or 0s for no timeout`. */
export function describeRange(range: DurationRange): string {
  const span = `between ${formatDuration(range.min)} and ${formatDuration(range.max)}`;
  return range.zero === undefined ? span : `${span}, or 0s for ${range.zero}`;
}

/**
 * A duration field of a document: well formed and within `range`, else an
 * issue naming the field, what it takes and what it got (the API's 422).
 *
 * @example durationSchema('timeout', DURATION_RANGES.timeout).safeParse('30d')
 * // issue: "timeout must be between 1ms and 1h, or 0s for no timeout (got 30d)"
 */
export function durationSchema(what: string, range: DurationRange) {
  return z.string().check((ctx) => {
    const text = ctx.value;
    const shown = text.length <= MAX_DURATION_TEXT ? text : `${text.slice(0, MAX_DURATION_TEXT)}...`;
    if (!isDuration(text)) {
      ctx.issues.push({
        code: 'custom',
        input: text,
        message: `${what} must be a duration such as 500ms, 30s, 5m or 1h (got ${JSON.stringify(shown)})`,
      });
    } else if (!inRange(parseDuration(text), range)) {
      ctx.issues.push({
        code: 'custom',
        input: text,
        message: `${what} must be ${describeRange(range)} (got ${text})`,
      });
    }
  });
}
