/**
 * The config the agent serves with. Replacing it is one reference
 * assignment, so a reader (a request, `/config`, the data plane) sees the
 * old snapshot or the new one, never a mix; snapshots are frozen, so no one
 * can change one in place. Subscribers are told after the swap.
 *
 * @module
 */
import type { GatewaySnapshot } from '../../shared/contract/snapshot.js';

/** Where an applied snapshot came from. */
export type ConfigSource = 'control-plane' | 'last-known-good';

/** A verified snapshot in service. */
export interface Applied {
  readonly snapshot: GatewaySnapshot;
  /** The signed text it arrived in: what is persisted as last-known-good. */
  readonly jws: string;
  readonly source: ConfigSource;
  readonly appliedAt: Date;
}

/** Holds the applied snapshot. */
export class AppliedConfig {
  #current: Applied | undefined;
  readonly #listeners = new Set<(applied: Applied) => void>();

  /** The snapshot in service, or `undefined` before the first one. */
  get current(): Applied | undefined {
    return this.#current;
  }

  /**
   * Puts `next` into service, then tells the subscribers. A subscriber that
   * throws is reported to `onError` and does not stop the others (or undo the swap).
   */
  swap(next: Applied, onError: (error: unknown) => void = () => {}): void {
    this.#current = Object.freeze({ ...next, snapshot: deepFreeze(next.snapshot) });
    for (const listener of this.#listeners) {
      try {
        listener(this.#current);
      } catch (error) {
        onError(error);
      }
    }
  }

  /** Calls `listener` after every swap. @returns unsubscribe. */
  subscribe(listener: (applied: Applied) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
