import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareHlc, formatHlc, HybridLogicalClock, parseHlc } from '../../../shared/model/hlc.js';

/** A wall clock that returns the given readings in turn, then repeats the last. */
function scripted(readings: readonly number[]): () => number {
  let i = 0;
  return () => readings[Math.min(i++, readings.length - 1)]!;
}

describe('HybridLogicalClock', () => {
  it('follows the wall clock when it moves forward', () => {
    const hlc = new HybridLogicalClock('aws', scripted([1000, 2000]));
    expect(hlc.now()).toBe('0000000001000-000000-aws');
    expect(hlc.now()).toBe('0000000002000-000000-aws');
  });

  it('counts up while the wall clock stands still or goes backwards', () => {
    const hlc = new HybridLogicalClock('aws', scripted([1000, 1000, 900, 1001]));
    expect([hlc.now(), hlc.now(), hlc.now(), hlc.now()]).toStrictEqual([
      '0000000001000-000000-aws',
      '0000000001000-000001-aws',
      '0000000001000-000002-aws',
      '0000000001001-000000-aws',
    ]);
  });

  it('moves past a version observed from a clock that runs ahead', () => {
    const hlc = new HybridLogicalClock('aws', () => 1000);
    const remote = '0000000005000-000007-gcp';
    hlc.observe(remote);
    const next = hlc.now();
    expect(compareHlc(next, remote)).toBeGreaterThan(0);
    expect(parseHlc(next)).toStrictEqual({ wall: 5000, counter: 8, node: 'aws' });
  });

  it('moves past a version observed at the same wall time with a higher counter', () => {
    const hlc = new HybridLogicalClock('aws', () => 1000);
    hlc.now();
    hlc.observe('0000000001000-000042-gcp');
    expect(hlc.now()).toBe('0000000001000-000043-aws');
  });

  it('is not moved back by an older observed version, and ignores garbage', () => {
    const hlc = new HybridLogicalClock('aws', () => 5000);
    const before = hlc.now();
    hlc.observe('0000000001000-000099-gcp');
    hlc.observe('not a version');
    expect(compareHlc(hlc.now(), before)).toBeGreaterThan(0);
  });

  it('refuses a node name that would break the format', () => {
    expect(() => new HybridLogicalClock('AWS')).toThrow(TypeError);
    expect(() => new HybridLogicalClock('')).toThrow(TypeError);
    expect(() => new HybridLogicalClock('a'.repeat(33))).toThrow(TypeError);
  });

  it('issues strictly increasing versions whatever the wall clock does (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 9_999_999_999_999 }), { minLength: 1, maxLength: 200 }),
        (wall) => {
          const hlc = new HybridLogicalClock('aws', scripted(wall));
          const versions = wall.map(() => hlc.now());
          for (let i = 1; i < versions.length; i++)
            expect(compareHlc(versions[i - 1]!, versions[i]!)).toBeLessThan(0);
        },
      ),
    );
  });

  it('issues versions after everything it observed, interleaved with its own (property)', () => {
    const version = fc
      .record({
        wall: fc.integer({ min: 0, max: 1e12 }),
        counter: fc.integer({ min: 0, max: 1000 }),
        node: fc.constantFrom('gcp', 'azure'),
      })
      .map(formatHlc);
    fc.assert(
      fc.property(
        fc.array(fc.option(version), { maxLength: 100 }),
        fc.integer({ min: 0, max: 1e12 }),
        (steps, start) => {
          let wall = start;
          const hlc = new HybridLogicalClock('aws', () => {
            wall = (wall + 7) % 1e12;
            return wall;
          });
          let highest = '';
          for (const seen of steps) {
            if (seen !== null) {
              hlc.observe(seen);
              if (compareHlc(seen, highest) > 0) highest = seen;
            } else {
              const issued = hlc.now();
              expect(compareHlc(issued, highest)).toBeGreaterThan(0);
              highest = issued;
            }
          }
        },
      ),
    );
  });
});

describe('formatHlc, parseHlc and compareHlc', () => {
  const timestamp = fc.record({
    wall: fc.integer({ min: 0, max: 9_999_999_999_999 }),
    counter: fc.integer({ min: 0, max: 999_999 }),
    node: fc.stringMatching(/^[a-z0-9-]{1,32}$/),
  });

  it('round-trips through the string form', () => {
    fc.assert(
      fc.property(timestamp, (t) => {
        expect(parseHlc(formatHlc(t))).toStrictEqual({ ...t });
      }),
    );
  });

  it('sorts formatted strings as the timestamps order (wall, then counter, then node)', () => {
    fc.assert(
      fc.property(timestamp, timestamp, (a, b) => {
        const expected =
          Math.sign(a.wall - b.wall) ||
          Math.sign(a.counter - b.counter) ||
          (a.node < b.node ? -1 : a.node > b.node ? 1 : 0);
        expect(Math.sign(compareHlc(formatHlc(a), formatHlc(b)))).toBe(expected);
        const sorted = [formatHlc(a), formatHlc(b)].sort();
        expect(compareHlc(sorted[0]!, sorted[1]!)).toBeLessThanOrEqual(0);
      }),
    );
  });

  it('rejects strings that are not versions', () => {
    for (const text of [
      '',
      '1-2-aws',
      '0000000001000-000000-',
      '0000000001000-000000-AWS',
      '0000000001000-0000001-aws',
    ]) {
      expect(parseHlc(text)).toBeUndefined();
    }
  });
});
