/**
 * Snapshot versions over random histories of writes and deletes (see
 * `shared/compiler/snapshot-version.ts`): every cloud that ends with the same
 * records stamps every gateway with the same version and hash, however it got
 * there, and along the way a gateway's version never goes back and moves
 * whenever its content does.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CompileResult,
  compileIncremental,
  compileSnapshots,
} from '../../../shared/compiler/compile.js';
import { applyRecords, meshStateFrom } from '../../../shared/compiler/mesh-state.js';
import { canonicalSnapshotJson } from '../../../shared/contract/canonical.js';
import type { ResourceKey } from '../../../shared/model/kinds.js';
import { bundleArb, recordOf, recordsArb, UNIVERSE, writeAt } from '../../support/mesh-arbitraries.js';

/** Each gateway's snapshot as stored, version and hash included. */
const texts = (result: CompileResult) =>
  [...result.snapshots].map(([key, snapshot]) => `${key} ${canonicalSnapshotJson(snapshot)}`);

/** Versions past every version `recordsArb` writes. */
const LATER = 10_000;

/** Writes and deletes, each at a later version than everything before it. */
const historyArb = fc
  .array(
    fc.constantFrom(...UNIVERSE).chain((key) => writeAt(key).map((resource) => ({ key, resource }))),
    { minLength: 1, maxLength: 8 },
  )
  .map((writes) => writes.map(({ key, resource }, i) => recordOf(key, resource, LATER + i)));

/** Initial records, the history after them, and all of them in another order. */
const runArb = fc
  .tuple(recordsArb, historyArb)
  .chain(([records, history]) =>
    fc.tuple(
      fc.constant(records),
      fc.constant(history),
      fc.shuffledSubarray([...records, ...history], { minLength: records.length + history.length }),
    ),
  );

describe('snapshot versions (properties)', () => {
  it('are the same, and so are hashes, whether compiled along the history, in one batch, or from scratch', () => {
    fc.assert(
      fc.property(runArb, bundleArb, ([records, history, shuffled], bundle) => {
        const initial = compileSnapshots(meshStateFrom(records, bundle));
        // Cloud A compiles every write as it comes.
        let state = meshStateFrom(records, bundle);
        let result = initial;
        let pending: ResourceKey[] = []; // written since `result`, which a Mesh problem leaves in place
        for (const record of history) {
          state = applyRecords(state, [record]);
          pending.push(record.key);
          const next = compileIncremental(state, result, pending);
          if (next.reason) continue;
          for (const [key, snapshot] of next.snapshots) {
            const prior = result.snapshots.get(key);
            if (!prior) continue;
            expect(snapshot.version >= prior.version).toBe(true);
            if (snapshot.hash !== prior.hash) expect(snapshot.version > prior.version).toBe(true);
            expect(next.changed.includes(key)).toBe(snapshot.hash !== prior.hash);
          }
          [result, pending] = [next, []];
        }
        const cold = compileSnapshots(meshStateFrom(shuffled, structuredClone(bundle)));
        if (cold.reason) return;
        // Cloud A's last compile was of the final state, as is cloud B's: one batch after the initial state.
        expect(pending).toEqual([]);
        const batch = compileIncremental(
          state,
          initial,
          history.map((r) => r.key),
        );
        expect(texts(result)).toEqual(texts(cold));
        expect(texts(batch)).toEqual(texts(cold));
      }),
      { numRuns: 300 },
    );
  });
});
