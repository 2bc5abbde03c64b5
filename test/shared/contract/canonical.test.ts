import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson, freezeDeep } from '../../../shared/contract/canonical.js';

/** The same value with every object's keys inserted in reverse order. */
function reversed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversed);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .reverse()
      .map(([k, v]) => [k, reversed(v)]),
  );
}

describe('canonicalJson', () => {
  it('sorts keys by code unit at every depth and writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [true, null], c: 'x' }, B: 2 })).toBe(
      '{"B":2,"a":{"c":"x","d":[true,null]},"b":1}',
    );
  });

  it('sorts integer-like keys as strings too, as RFC 8785 does (JSON.stringify would not)', () => {
    expect(canonicalJson({ 2: 'b', 10: 'a', x: 0 })).toBe('{"10":"a","2":"b","x":0}');
  });

  it('drops undefined members and writes undefined array items as null, like JSON.stringify', () => {
    expect(canonicalJson({ a: undefined, b: [undefined, 1] })).toBe('{"b":[null,1]}');
    expect(canonicalJson(undefined)).toBe('null');
  });

  it('round-trips any JSON value and does not depend on key order', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const json = canonicalJson(value);
        expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(value)));
        expect(canonicalJson(reversed(value))).toBe(json);
      }),
    );
  });

  it('memoizes only what freezeDeep sealed, so a memo can never go stale', () => {
    const open = { list: [{ a: 1 }] };
    expect(canonicalJson(open)).toBe('{"list":[{"a":1}]}');
    open.list[0]!.a = 2;
    expect(canonicalJson(open)).toBe('{"list":[{"a":2}]}');
    const sealed = freezeDeep({ list: [{ a: 1 }] });
    expect(canonicalJson(sealed)).toBe('{"list":[{"a":1}]}');
    expect(() => {
      (sealed.list[0] as { a: number }).a = 2;
    }).toThrow(TypeError);
    expect(canonicalJson(sealed)).toBe('{"list":[{"a":1}]}');
  });
});
