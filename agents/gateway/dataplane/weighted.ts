/**
 * Weighted choice, in the two flavours a proxy needs: random draws across
 * environments (independent per call, so many egress gateways do not march
 * in step), and smooth weighted round robin across one environment's
 * endpoints (nginx's algorithm: exact shares over a cycle, no bursts). Pure
 * apart from the injected random source.
 *
 * @module
 */

/** A source of uniform numbers in [0, 1), such as `Math.random` or a seeded PRNG. */
export type Random = () => number;

/** Anything with a weight; weights <= 0 (or not finite) never win. */
export interface Weighted {
  readonly weight: number;
}

/**
 * Draws one item with probability `weight / total`, or `undefined` when no
 * item has a positive weight.
 */
export function pickWeighted<T extends Weighted>(items: readonly T[], random: Random): T | undefined {
  let total = 0;
  for (const item of items) if (item.weight > 0 && Number.isFinite(item.weight)) total += item.weight;
  if (total <= 0) return undefined;
  let point = random() * total;
  let last: T | undefined;
  for (const item of items) {
    if (!(item.weight > 0 && Number.isFinite(item.weight))) continue;
    last = item;
    point -= item.weight;
    if (point < 0) return item;
  }
  // Rounding can leave `point` a hair above zero at the end: the last positive item owns that edge.
  return last;
}

/**
 * Smooth weighted round robin (nginx `ngx_http_upstream_get_peer`): each
 * turn every item gains its weight, the richest is chosen and pays the total.
 * Over any cycle of `total` turns each item is chosen exactly `weight` times,
 * spread out rather than in runs. Items of weight 0 are skipped.
 *
 * @example
 * const rr = new SmoothWeightedRoundRobin([{ address: 'a', weight: 5 }, { address: 'b', weight: 1 }]);
 * rr.next(); // a
 */
export class SmoothWeightedRoundRobin<T extends Weighted> {
  readonly items: readonly T[];
  readonly #live: T[];
  readonly #current: number[];
  readonly #total: number;

  constructor(items: readonly T[]) {
    this.items = items;
    this.#live = items.filter((i) => i.weight > 0 && Number.isFinite(i.weight));
    this.#current = this.#live.map(() => 0);
    this.#total = this.#live.reduce((sum, i) => sum + i.weight, 0);
  }

  /** How many items can be chosen at all. */
  get size(): number {
    return this.#live.length;
  }

  /** The next item, or `undefined` when every weight is 0. */
  next(): T | undefined {
    let best = -1;
    for (const [i, item] of this.#live.entries()) {
      this.#current[i]! += item.weight;
      if (best === -1 || this.#current[i]! > this.#current[best]!) best = i;
    }
    if (best === -1) return undefined;
    this.#current[best]! -= this.#total;
    return this.#live[best];
  }
}
