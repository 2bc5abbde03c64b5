import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_TIMEOUT } from '../../../shared/compiler/compile-rules.js';
import { JWT_SVID_MAX_TTL_MS } from '../../../shared/identity/jwt-svid.js';
import { X509_SVID_MAX_TTL_MS } from '../../../shared/identity/x509-svid.js';
import { formatDuration, MAX_TIMER_MS, parseDuration, timerDelay } from '../../../shared/model/duration.js';
import {
  DEFAULT_ROUTE_TIMEOUT,
  DURATION_RANGES,
  durationSchema,
  MAX_EJECTION_MS,
  MAX_ROUTE_TIMEOUT_MS,
} from '../../../shared/model/duration-ranges.js';
import { ValidationError } from '../../../shared/model/errors.js';
import { JOIN_TOKEN_MAX_TTL_MS } from '../../../shared/model/kinds.js';
import { parseResource } from '../../../shared/model/resource.js';

const API_VERSION = 'weft.dev/v1';
const route = (rule: Record<string, unknown>, outlierDetection?: Record<string, unknown>) => ({
  apiVersion: API_VERSION,
  kind: 'Route',
  metadata: { name: 'r', namespace: 'shop' },
  spec: {
    service: 'orders',
    rules: [{ backends: [{ environment: 'aws' }], ...rule }],
    ...(outlierDetection && { outlierDetection }),
  },
});
const mesh = (credentials: Record<string, unknown>) => ({
  apiVersion: API_VERSION,
  kind: 'Mesh',
  metadata: { name: 'mesh' },
  spec: { trustDomain: 'acme.test', credentials },
});

/** The issues `parseResource` finds, as `pointer: detail`. */
function issues(doc: unknown): string[] {
  try {
    parseResource(doc);
    return [];
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return error.issues.map((i) => `${i.pointer}: ${i.detail}`);
  }
}

/** Each field's pointer, a document with it set to `text`, and its smallest step past `max`. */
const FIELDS = {
  x509SvidTtl: { at: '/spec/credentials/x509SvidTtl', doc: (t: string) => mesh({ x509SvidTtl: t }) },
  jwtSvidTtl: { at: '/spec/credentials/jwtSvidTtl', doc: (t: string) => mesh({ jwtSvidTtl: t }) },
  timeout: { at: '/spec/rules/0/timeout', doc: (t: string) => route({ timeout: t }) },
  perTryTimeout: {
    at: '/spec/rules/0/retries/perTryTimeout',
    doc: (t: string) => route({ timeout: '5m', retries: { attempts: 1, perTryTimeout: t } }),
  },
  baseEjectionTime: {
    at: '/spec/outlierDetection/baseEjectionTime',
    doc: (t: string) => route({}, { baseEjectionTime: t }),
  },
} as const;

describe('duration ranges', () => {
  it.each(Object.entries(FIELDS))(
    '%s: accepts min and max, refuses 1 ms either side, naming the field',
    (name, f) => {
      const range = DURATION_RANGES[name as keyof typeof FIELDS];
      expect(issues(f.doc(formatDuration(range.max)))).toEqual([]);
      expect(issues(f.doc(formatDuration(range.min)))).toEqual([]);
      const over = `${range.max + 1}ms`;
      expect(issues(f.doc(over))).toEqual([
        `${f.at}: ${name} must be between ${formatDuration(range.min)} and ${formatDuration(range.max)}${
          name === 'timeout' ? ', or 0s for no route timeout' : ''
        } (got ${over})`,
      ]);
      if (range.min > 1) expect(issues(f.doc(`${range.min - 1}ms`))).toHaveLength(1);
      expect(issues(f.doc('30d'))[0]).toMatch(
        new RegExp(`^${f.at}: ${name} must be between .* \\(got 30d\\)$`),
      );
      expect(issues(f.doc(`${'9'.repeat(30)}s`))[0]).toMatch(new RegExp(`^${f.at}: ${name} must be between`));
    },
  );

  it('reads 0s as no timeout for a Route timeout, and refuses it everywhere else', () => {
    expect(issues(FIELDS.timeout.doc('0s'))).toEqual([]);
    expect(issues(FIELDS.timeout.doc('0ms'))).toEqual([]);
    for (const name of ['x509SvidTtl', 'jwtSvidTtl', 'perTryTimeout', 'baseEjectionTime'] as const) {
      expect(issues(FIELDS[name].doc('0s')), name).toEqual([
        expect.stringMatching(new RegExp(`^${FIELDS[name].at}: ${name} must be between .* \\(got 0s\\)$`)),
      ]);
    }
  });

  it('keeps a perTryTimeout within the rule timeout (or the 15s default); 0s bounds nothing', () => {
    const withRetry = (timeout: string | undefined, perTryTimeout: string) =>
      route({ ...(timeout && { timeout }), retries: { attempts: 1, perTryTimeout } });
    expect(issues(withRetry('2s', '2s'))).toEqual([]);
    expect(issues(withRetry('2s', '2001ms'))).toEqual([
      "/spec/rules/0/retries/perTryTimeout: perTryTimeout must be at most the rule's timeout, 2s (got 2001ms)",
    ]);
    expect(issues(withRetry(undefined, '15s'))).toEqual([]);
    expect(issues(withRetry(undefined, '16s'))[0]).toMatch(
      /at most the rule's timeout, 15s \(the default\) \(got 16s\)$/,
    );
    expect(issues(withRetry('0s', '5m'))).toEqual([]);
  });

  it('keeps the malformed-text message and the length cap', () => {
    expect(issues(FIELDS.timeout.doc('10 seconds'))).toEqual([
      '/spec/rules/0/timeout: timeout must be a duration such as 500ms, 30s, 5m or 1h (got "10 seconds")',
    ]);
    expect(issues(FIELDS.timeout.doc(`${'0'.repeat(40)}1s`))[0]).toMatch(/must be a duration/);
    const long = durationSchema('timeout', DURATION_RANGES.timeout).safeParse('x'.repeat(5000));
    expect(long.error?.issues[0]?.message.length).toBeLessThan(200);
  });

  it('agrees with the limits the CA and the compiler apply', () => {
    expect(DURATION_RANGES.x509SvidTtl).toEqual({ min: 60_000, max: X509_SVID_MAX_TTL_MS });
    expect(DURATION_RANGES.jwtSvidTtl).toEqual({ min: 10_000, max: JWT_SVID_MAX_TTL_MS });
    expect(DURATION_RANGES.maxTtl.max).toBe(JOIN_TOKEN_MAX_TTL_MS);
    expect(DEFAULT_ROUTE_TIMEOUT).toBe(DEFAULT_TIMEOUT);
    // What the data plane keeps: a longer Route timeout or ejection would be accepted, then cut short.
    expect(DURATION_RANGES.timeout.max).toBe(MAX_ROUTE_TIMEOUT_MS);
    expect(DURATION_RANGES.baseEjectionTime.max).toBe(MAX_EJECTION_MS);
    for (const range of Object.values(DURATION_RANGES)) expect(range.max).toBeLessThanOrEqual(MAX_TIMER_MS);
  });

  it('formats milliseconds as the shortest duration that parses back', () => {
    expect(formatDuration(3_600_000)).toBe('1h');
    expect(formatDuration(90_000)).toBe('1m30s');
    expect(formatDuration(1)).toBe('1ms');
    expect(formatDuration(0)).toBe('0s');
    fc.assert(
      fc.property(fc.nat(), (ms) => {
        expect(parseDuration(formatDuration(ms))).toBe(ms);
      }),
    );
  });
});

describe('timerDelay', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('arms nothing for 0, caps at what setTimeout keeps, refuses nonsense', () => {
    expect(timerDelay(0)).toBeUndefined();
    expect(timerDelay(1)).toBe(1);
    expect(timerDelay(MAX_TIMER_MS)).toBe(MAX_TIMER_MS);
    expect(timerDelay(30 * 86_400_000)).toBe(MAX_TIMER_MS);
    expect(() => timerDelay(-1)).toThrow(TypeError);
    expect(() => timerDelay(Number.NaN)).toThrow(TypeError);
    expect(() => timerDelay(Number.POSITIVE_INFINITY)).toThrow(TypeError);
  });

  // Any text, in range or not: the schema decides; what it accepts must become a timer that keeps its word.
  const text = fc
    .array(fc.tuple(fc.oneof(fc.nat(9999), fc.nat()), fc.constantFrom('ms', 's', 'm', 'h', 'd')), {
      minLength: 1,
      maxLength: 3,
    })
    .map((parts) => parts.map(([n, u]) => `${n}${u}`).join(''));

  it('turns every duration a field accepts into a timer that fires neither early nor late', () => {
    vi.useFakeTimers();
    fc.assert(
      fc.property(
        fc.constantFrom(...(Object.keys(DURATION_RANGES) as (keyof typeof DURATION_RANGES)[])),
        text,
        (field, t) => {
          if (!durationSchema(field, DURATION_RANGES[field]).safeParse(t).success) return;
          const ms = parseDuration(t);
          const delay = timerDelay(ms);
          if (delay === undefined) {
            expect(ms).toBe(0);
            expect(field).toBe('timeout');
            return;
          }
          expect(delay).toBe(ms);
          const fired = vi.fn();
          const timer = setTimeout(fired, delay);
          vi.advanceTimersByTime(delay - 1);
          expect(fired).not.toHaveBeenCalled();
          vi.advanceTimersByTime(1);
          expect(fired).toHaveBeenCalledOnce();
          clearTimeout(timer);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('never arms a delay setTimeout would fire early, whatever the snapshot says', () => {
    vi.useFakeTimers();
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (ms) => {
        const delay = timerDelay(ms)!;
        expect(delay).toBe(Math.min(ms, MAX_TIMER_MS));
        const fired = vi.fn();
        const timer = setTimeout(fired, delay);
        vi.advanceTimersByTime(delay - 1);
        expect(fired).not.toHaveBeenCalled();
        clearTimeout(timer);
      }),
      { numRuns: 200 },
    );
  });
});
