import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pickWeighted, SmoothWeightedRoundRobin } from '../../../../agents/gateway/dataplane/weighted.js';
import { seededRandom } from './support/rng.js';

const weights = fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 6 });

describe('pickWeighted', () => {
  it('draws each item in proportion to its weight (seeded, within 2 points over 20,000 draws)', () => {
    fc.assert(
      fc.property(weights, fc.integer(), (ws, seed) => {
        const items = ws.map((weight, id) => ({ id, weight }));
        const sum = ws.reduce((a, b) => a + b, 0);
        fc.pre(sum > 0);
        const random = seededRandom(seed);
        const counts = new Array(ws.length).fill(0);
        const draws = 20_000;
        for (let i = 0; i < draws; i++) counts[pickWeighted(items, random)!.id] += 1;
        for (const [i, w] of ws.entries()) {
          expect(Math.abs(counts[i] / draws - w / sum)).toBeLessThan(0.02);
          if (w === 0) expect(counts[i]).toBe(0);
        }
      }),
      { numRuns: 25 },
    );
  });

  it('gives nothing when no weight is positive, and covers the edges of [0, 1)', () => {
    expect(pickWeighted([{ weight: 0 }, { weight: -1 }], Math.random)).toBeUndefined();
    expect(pickWeighted([], Math.random)).toBeUndefined();
    const items = [
      { id: 'a', weight: 1 },
      { id: 'z', weight: 0 },
      { id: 'b', weight: 3 },
    ];
    expect(pickWeighted(items, () => 0)?.id).toBe('a');
    expect(pickWeighted(items, () => 0.9999999999)?.id).toBe('b');
  });
});

describe('SmoothWeightedRoundRobin', () => {
  it('gives each item exactly its weight over every cycle, and drained items nothing', () => {
    fc.assert(
      fc.property(weights, fc.integer({ min: 1, max: 4 }), (ws, cycles) => {
        const rr = new SmoothWeightedRoundRobin(ws.map((weight, id) => ({ id, weight })));
        const total = ws.reduce((a, b) => a + b, 0);
        if (total === 0) {
          expect(rr.next()).toBeUndefined();
          return;
        }
        const counts = new Array(ws.length).fill(0);
        for (let i = 0; i < total * cycles; i++) counts[rr.next()!.id] += 1;
        expect(counts).toEqual(ws.map((w) => w * cycles));
      }),
    );
  });

  it('spreads picks out instead of sending runs (5:1:1 as nginx does)', () => {
    const rr = new SmoothWeightedRoundRobin([
      { id: 'a', weight: 5 },
      { id: 'b', weight: 1 },
      { id: 'c', weight: 1 },
    ]);
    expect(Array.from({ length: 7 }, () => rr.next()!.id).join('')).toBe('aabacaa');
  });
});
