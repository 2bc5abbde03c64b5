/**
 * The `compile` use case (docs/distribution.md §1): on
 * `dev.weft.resource.changed` events, compile the gateways' snapshots, sign
 * and store the changed ones, delete those of removed gateways, move
 * `compiled/watermark` forward, then notify webhooks.
 *
 * Events only say "something changed"; what changed is read from the state
 * store, so duplicates, late and reordered events are harmless. A warm
 * instance keeps its last state and result and reads only what was written
 * past it (plus any key an event names that it has not seen at that
 * version: a write that landed after a newer one); a cold one, or one that
 * failed or finds it raced another instance, reads everything and compiles
 * in full, which is always correct.
 *
 * @module
 */

import { type CompileResult, compileIncremental, compileSnapshots } from '../compiler/compile.js';
import { meshProblem, theMesh } from '../compiler/compile-mesh.js';
import { applyRecords, type MeshState, meshStateFrom, resourceId } from '../compiler/mesh-state.js';
import { signSnapshot } from '../contract/signed-snapshot.js';
import type { CloudEvent } from '../events/cloud-event.js';
import { parseResourceChange, type ResourceChange } from '../events/resource-changed.js';
import type { ResourceKey } from '../model/kinds.js';
import type { StoredRecord } from '../storage/state-store.js';
import { advanceWatermark, COMPILED_WATERMARK, readWatermark } from '../storage/watermark.js';
import type { DistributorOptions } from './distribute-options.js';
import { notifyWritten } from './notify-gateways.js';
import { SnapshotBlobs, type StoreResult, type WriteMode } from './snapshot-blobs.js';

export type { DistributeLogger, DistributorOptions } from './distribute-options.js';

/** What one run did. */
export interface DistributeReport {
  /** The state version compiled (the new compile watermark). */
  readonly stateVersion: string;
  /** Gateways whose snapshot was signed and stored. */
  readonly written: readonly string[];
  /** Gateways whose snapshot was deleted. */
  readonly removed: readonly string[];
  /** Whether it read and compiled everything. */
  readonly full: boolean;
  /** Why nothing was compiled (no Mesh, or several). */
  readonly reason?: string;
}

const keyId = (key: ResourceKey) => `${key.kind}:${resourceId(key)}`;

/**
 * @example
 * const distributor = new Distributor({ store, blobs, authority, notifier });
 * await distributor.compileAll(); // at start: snapshots for the current state
 * bus.subscribe(RESOURCE_CHANGED, (events) => distributor.handle(events));
 */
export class Distributor {
  readonly #o: DistributorOptions;
  readonly #snapshots: SnapshotBlobs;
  #state: MeshState | undefined;
  #last: CompileResult | undefined;
  /** The version of every key this instance compiled, tombstones included. */
  #seen = new Map<string, string>();
  /** The compile watermark as this instance last left it. */
  #mark: string | undefined;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(options: DistributorOptions) {
    this.#o = options;
    this.#snapshots = new SnapshotBlobs(options.blobs);
  }

  /**
   * Handles a batch of change events. Malformed events are logged and
   * skipped (retrying cannot fix them).
   *
   * @returns `undefined` when the events named nothing new.
   */
  handle(events: readonly CloudEvent[]): Promise<DistributeReport | undefined> {
    const changes: ResourceChange[] = [];
    for (const event of events) {
      try {
        changes.push(parseResourceChange(event));
      } catch (error) {
        this.#o.logger?.error({ msg: 'compile: event skipped', id: event.id, error: String(error) });
      }
    }
    return this.#serial(() => this.#warm(changes));
  }

  /** Reads the whole state and compiles every gateway. */
  compileAll(): Promise<DistributeReport> {
    return this.#serial(() => this.#full());
  }

  /** One run at a time: runs share the instance's state. */
  #serial<T>(run: () => Promise<T>): Promise<T> {
    const next = this.#chain.then(run).catch((error: unknown) => {
      // Whatever was half done, the next run starts from a full read.
      [this.#state, this.#last] = [undefined, undefined];
      this.#snapshots.forget();
      throw error;
    });
    this.#chain = next.catch(() => undefined);
    return next;
  }

  async #warm(changes: readonly ResourceChange[]): Promise<DistributeReport | undefined> {
    const state = this.#state;
    // Nothing compiled yet (cold, or no Mesh so far): only a full pass knows what is stored.
    if (!state || !this.#last) return this.#full();
    const unseen = changes.filter((c) => c.version > (this.#seen.get(keyId(c.key)) ?? ''));
    if (unseen.length === 0) return undefined;
    const mark = await this.#readMark();
    // Another instance compiled since this one did: what is stored may not be what it remembers.
    if (mark !== this.#mark) return this.#full(mark);
    const { store } = this.#o;
    const late = unseen.filter((c) => c.version <= state.stateVersion);
    const reads = await Promise.all([
      store.changedSince(state.stateVersion),
      ...late.map((c) => store.get(c.key)),
    ]);
    const records = reads
      .flat()
      .filter((r): r is StoredRecord => !!r && r.version > (this.#seen.get(keyId(r.key)) ?? ''));
    if (records.length === 0) return undefined;
    return this.#compile(applyRecords(state, records), records, 'warm', mark);
  }

  async #full(mark?: string, rerun = true): Promise<DistributeReport> {
    const baseline = mark ?? (await this.#readMark());
    const records = await this.#o.store.changedSince(undefined);
    this.#seen = new Map();
    this.#snapshots.forget();
    const state = meshStateFrom(records, this.#state?.bundle ?? null);
    return this.#compile(state, records, 'fresh', baseline, rerun);
  }

  async #readMark(): Promise<string | undefined> {
    return (await readWatermark(this.#o.blobs, COMPILED_WATERMARK))?.version;
  }

  async #compile(
    input: MeshState,
    records: readonly StoredRecord[],
    mode: WriteMode,
    baseline: string | undefined,
    rerun = true,
  ): Promise<DistributeReport> {
    const problem = meshProblem(input);
    const authority = problem
      ? undefined
      : await this.#o.authority.forTrustDomain(theMesh(input).spec.trustDomain);
    const state = authority ? { ...input, bundle: authority.bundle } : input;
    const previous = this.#last;
    const result =
      mode === 'warm' && previous && previous.sections?.state === this.#state
        ? compileIncremental(
            state,
            previous,
            records.map((r) => r.key),
          )
        : compileSnapshots(state, previous?.snapshots);
    let stored: StoreResult = { snapshots: result.snapshots, written: [], removed: [] };
    if (authority) {
      const out = await this.#snapshots.store(result, mode, (s) => signSnapshot(s, authority.signingKey));
      // Someone stored a newer snapshot: this state is behind. Read it all again.
      if (out === 'stale') return this.#full();
      stored = out;
    }
    const { snapshots, written, removed } = stored;
    this.#state = state;
    // Without a Mesh nothing compiled: keep the last snapshots, and compile in full next time.
    this.#last = authority ? { ...result, snapshots } : previous && { ...previous, sections: undefined };
    for (const r of records)
      if (r.version > (this.#seen.get(keyId(r.key)) ?? '')) this.#seen.set(keyId(r.key), r.version);

    const { stateVersion } = state;
    const index = this.#snapshots.index();
    const move = await advanceWatermark(this.#o.blobs, COMPILED_WATERMARK, {
      version: stateVersion,
      ...(problem && { reason: problem }),
      snapshots: index,
    });
    this.#mark = move.written ? stateVersion : move.previous;
    if (authority && this.#o.notifier)
      await notifyWritten(this.#o.notifier, state, snapshots, written, authority.signingKey, this.#o.now);
    const report = {
      stateVersion,
      written,
      removed,
      full: mode === 'fresh',
      ...(problem && { reason: problem }),
    };
    this.#o.logger?.info({
      msg: 'compile: snapshots distributed',
      ...report,
      written: written.length,
      removed: removed.length,
    });
    // Another instance compiled while this one did: its writes and ours may interleave. Settle it with a full pass.
    if (rerun && move.previous !== baseline) return this.#full(undefined, false);
    return report;
  }
}
