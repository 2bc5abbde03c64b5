/**
 * Hybrid logical clock (Kulkarni et al., 2014). Versions are strings that sort
 * lexicographically in causal order, so every store can compare them with a
 * plain string condition: `<wall ms, 13 digits>-<counter, 6 digits>-<node>`.
 * The node (the origin cloud) breaks ties, which makes last-writer-wins total.
 *
 * @module
 */

export interface HlcTimestamp {
  readonly wall: number;
  readonly counter: number;
  readonly node: string;
}

const FORMAT = /^(\d{13})-(\d{6})-([a-z0-9-]{1,32})$/;

export function formatHlc(t: HlcTimestamp): string {
  return `${String(t.wall).padStart(13, '0')}-${String(t.counter).padStart(6, '0')}-${t.node}`;
}

/** @returns the parts, or `undefined` when `text` is not an HLC version. */
export function parseHlc(text: string): HlcTimestamp | undefined {
  const m = FORMAT.exec(text);
  if (!m) return undefined;
  return { wall: Number(m[1]), counter: Number(m[2]), node: m[3]! };
}

/** Negative when `a` happened before `b`. Total: the node breaks ties. */
export function compareHlc(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Wall-clock source, injectable for tests. */
export type Clock = () => number;

/**
 * Issues strictly increasing versions for one node, and moves forward past any
 * version it observes from elsewhere (so a write after a merge sorts after it).
 *
 * @example
 * const hlc = new HybridLogicalClock('aws');
 * const v1 = hlc.now(); const v2 = hlc.now(); // v1 < v2
 */
export class HybridLogicalClock {
  private wall = 0;
  private counter = 0;

  constructor(
    readonly node: string,
    private readonly clock: Clock = Date.now,
  ) {
    if (!/^[a-z0-9-]{1,32}$/.test(node)) throw new TypeError(`HLC node must be [a-z0-9-]{1,32}, got ${node}`);
  }

  /** A new version, greater than every version this clock issued or observed. */
  now(): string {
    const physical = this.clock();
    if (physical > this.wall) {
      this.wall = physical;
      this.counter = 0;
    } else {
      this.counter += 1;
    }
    return formatHlc({ wall: this.wall, counter: this.counter, node: this.node });
  }

  /** Folds a version seen elsewhere into this clock. Unparseable input is ignored. */
  observe(version: string): void {
    const seen = parseHlc(version);
    if (!seen) return;
    if (seen.wall > this.wall) {
      this.wall = seen.wall;
      this.counter = seen.counter;
    } else if (seen.wall === this.wall && seen.counter > this.counter) {
      this.counter = seen.counter;
    }
  }
}
