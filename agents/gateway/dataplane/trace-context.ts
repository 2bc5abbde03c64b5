/**
 * W3C Trace Context (`traceparent`, version 00): every hop keeps the
 * caller's trace id, makes its own span id and hands that on as the parent
 * of the next hop. A missing or malformed header starts a new trace, as the
 * standard asks; `tracestate` rides along untouched.
 *
 * @module
 */
import { randomFillSync } from 'node:crypto';

/** One hop's place in a trace. */
export interface TraceContext {
  /** 32 lowercase hex digits, not all zero. */
  readonly traceId: string;
  /** This hop's span: 16 lowercase hex digits, not all zero. */
  readonly spanId: string;
  /** The caller's span, when the call arrived with a valid `traceparent`. */
  readonly parentSpanId?: string;
  /** Trace flags, two hex digits (`01` = sampled). */
  readonly flags: string;
}

type Groups = [string, string, string, string, string, string, string | undefined];
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/** Parses a `traceparent` value; `undefined` when it is absent or invalid. */
export function parseTraceparent(
  value: string | undefined,
): { traceId: string; spanId: string; flags: string } | undefined {
  const m = value === undefined ? null : TRACEPARENT.exec(value.trim());
  if (!m) return undefined;
  const [, version, traceId, spanId, flags, rest] = m as unknown as Groups;
  // Version ff is forbidden; version 00 has nothing after the flags.
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return { traceId, spanId, flags };
}

// Ids come from a pooled buffer refilled 4 KiB at a time: one `randomBytes` per id costs more than the rest of the hop's bookkeeping.
const pool = Buffer.alloc(4096);
let offset = pool.length;

function randomHex(bytes: number, zero: string): string {
  for (;;) {
    if (offset + bytes > pool.length) {
      randomFillSync(pool);
      offset = 0;
    }
    const hex = pool.toString('hex', offset, offset + bytes);
    offset += bytes;
    if (hex !== zero) return hex;
  }
}

/** This hop's context: continues the incoming trace, or starts a sampled one. */
export function continueTrace(traceparent: string | undefined): TraceContext {
  const parent = parseTraceparent(traceparent);
  const spanId = randomHex(8, ZERO_SPAN);
  if (!parent) return { traceId: randomHex(16, ZERO_TRACE), spanId, flags: '01' };
  return { traceId: parent.traceId, spanId, parentSpanId: parent.spanId, flags: parent.flags };
}

/** The `traceparent` the next hop receives: this hop's span as its parent. */
export function formatTraceparent(context: TraceContext): string {
  return `00-${context.traceId}-${context.spanId}-${context.flags}`;
}
