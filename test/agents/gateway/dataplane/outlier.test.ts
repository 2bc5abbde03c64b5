import { describe, expect, it } from 'vitest';
import { MAX_EJECTION_MS, OutlierDetector } from '../../../../agents/gateway/dataplane/outlier.js';

const config = { consecutiveErrors: 3, baseEjectionMs: 1_000, maxEjectionPercent: 100 };

function detector() {
  let now = 0;
  const d = new OutlierDetector({ now: () => now });
  return { d, advance: (ms: number) => (now += ms) };
}

describe('OutlierDetector', () => {
  it('ejects after consecutive errors; a success in between resets the streak', () => {
    const { d } = detector();
    d.recordFailure('s', 'b', config, 2);
    d.recordFailure('s', 'b', config, 2);
    d.recordSuccess('s', 'b');
    d.recordFailure('s', 'b', config, 2);
    d.recordFailure('s', 'b', config, 2);
    expect(d.isEjected('s', 'b')).toBe(false);
    expect(d.recordFailure('s', 'b', config, 2)).toBe(1_000);
    expect(d.isEjected('s', 'b')).toBe(true);
    expect(d.isEjected('other', 'b')).toBe(false);
  });

  it('doubles the ejection on repeat, caps it, and forgives with time', () => {
    const { d, advance } = detector();
    const eject = () => {
      for (let i = 0; i < 3; i++) d.recordFailure('s', 'b', config, 1);
    };
    const lasting = () => {
      let t = 0;
      while (d.isEjected('s', 'b')) {
        advance(100);
        t += 100;
      }
      return t;
    };
    eject();
    expect(lasting()).toBe(1_000);
    eject();
    expect(lasting()).toBe(2_000);
    eject();
    expect(lasting()).toBe(4_000);
    advance(2_500); // two base periods healthy: the multiplier drops by two
    eject();
    expect(lasting()).toBe(2_000);
    for (let i = 0; i < 12; i++) {
      eject();
      lasting();
    }
    eject();
    expect(lasting()).toBe(MAX_EJECTION_MS);
  });

  it('ignores failures of calls in flight while ejected', () => {
    const { d, advance } = detector();
    for (let i = 0; i < 3; i++) d.recordFailure('s', 'b', config, 1);
    for (let i = 0; i < 10; i++) expect(d.recordFailure('s', 'b', config, 1)).toBe(0);
    advance(1_000);
    expect(d.isEjected('s', 'b')).toBe(false);
  });

  it('keeps to maxEjectionPercent, though one may always go when it is positive', () => {
    const half = { ...config, maxEjectionPercent: 50 };
    const { d } = detector();
    const fail = (env: string) => {
      for (let i = 0; i < 3; i++) d.recordFailure('s', env, half, 2);
    };
    fail('b');
    fail('c');
    expect(d.ejected('s')).toEqual(['b']);
    const none = detector();
    for (let i = 0; i < 5; i++) none.d.recordFailure('s', 'b', { ...config, maxEjectionPercent: 0 }, 2);
    expect(none.d.isEjected('s', 'b')).toBe(false);
  });

  it('forgets services that left the snapshot', () => {
    const { d } = detector();
    for (let i = 0; i < 3; i++) d.recordFailure('gone', 'b', config, 1);
    d.retain(new Set(['kept']));
    expect(d.isEjected('gone', 'b')).toBe(false);
  });
});
