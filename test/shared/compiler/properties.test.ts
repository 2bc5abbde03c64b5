import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CompileResult,
  compileIncremental,
  compileSnapshots,
} from '../../../shared/compiler/compile.js';
import { meshStateFrom } from '../../../shared/compiler/mesh-state.js';
import { canonicalSnapshotJson, snapshotHash } from '../../../shared/contract/canonical.js';
import type { GatewaySnapshot } from '../../../shared/contract/snapshot.js';
import { applyChange, bundleArb, changeArb, recordsArb } from '../../support/mesh-arbitraries.js';

/** Each gateway's snapshot as stored: the text that must be byte-identical. */
const texts = (result: CompileResult) =>
  [...result.snapshots].map(([key, snapshot]) => `${key} ${canonicalSnapshotJson(snapshot)}`);

/** What a snapshot says, without the version it says it at. */
const content = (s: GatewaySnapshot) => canonicalSnapshotJson({ ...s, version: '', hash: '' });

/** A result without its snapshots' text, for comparing the rest. */
const outline = (r: CompileResult) => ({
  keys: [...r.snapshots.keys()],
  changed: r.changed,
  removed: r.removed,
  skipped: r.skipped,
  reason: r.reason,
});

/** Versions past every version `recordsArb` writes. */
const LATER = 10_000;

describe('compileSnapshots (properties)', () => {
  it('is deterministic: the same records, in any order, give byte-identical snapshots', () => {
    fc.assert(
      fc.property(
        recordsArb.chain((records) =>
          fc.tuple(fc.constant(records), fc.shuffledSubarray(records, { minLength: records.length })),
        ),
        bundleArb,
        ([records, shuffled], bundle) => {
          const a = compileSnapshots(meshStateFrom(records, bundle));
          const b = compileSnapshots(meshStateFrom(shuffled, structuredClone(bundle)));
          expect(texts(b)).toEqual(texts(a));
          expect(outline(b)).toEqual(outline(a));
        },
      ),
    );
  });

  it('gives every snapshot the hash of its canonical content', () => {
    fc.assert(
      fc.property(recordsArb, bundleArb, (records, bundle) => {
        for (const snapshot of compileSnapshots(meshStateFrom(records, bundle)).snapshots.values()) {
          expect(snapshot.hash).toBe(snapshotHash(snapshot));
          expect(JSON.parse(canonicalSnapshotJson(snapshot))).toEqual(snapshot);
        }
      }),
    );
  });
});

describe('compileIncremental (properties)', () => {
  it('equals a full compile of the new state, snapshot for snapshot', () => {
    fc.assert(
      fc.property(recordsArb, bundleArb, changeArb, (records, bundle, change) => {
        const before = compileSnapshots(meshStateFrom(records, bundle));
        const after = applyChange(meshStateFrom(records, bundle), change, LATER);
        const incremental = compileIncremental(after.state, before, after.keys);
        const full = compileSnapshots(after.state, before.snapshots);
        expect(texts(incremental)).toEqual(texts(full));
        expect(outline(incremental)).toEqual(outline(full));
      }),
      { numRuns: 300 },
    );
  });

  it('reports as changed exactly the gateways whose content differs, and the gone ones as removed', () => {
    fc.assert(
      fc.property(recordsArb, bundleArb, changeArb, (records, bundle, change) => {
        const before = compileSnapshots(meshStateFrom(records, bundle));
        const after = applyChange(meshStateFrom(records, bundle), change, LATER);
        const incremental = compileIncremental(after.state, before, after.keys);
        if (incremental.reason) return;
        const full = compileSnapshots(after.state);
        const differs = [...full.snapshots]
          .filter(
            ([key, s]) => !before.snapshots.has(key) || content(before.snapshots.get(key)!) !== content(s),
          )
          .map(([key]) => key);
        expect(incremental.changed).toEqual(differs);
        expect(incremental.removed).toEqual(
          [...before.snapshots.keys()].filter((k) => !full.snapshots.has(k)),
        );
      }),
    );
  });

  it('stays equal to a full compile over a run of changes, and versions only move forward', () => {
    fc.assert(
      fc.property(
        recordsArb,
        bundleArb,
        fc.array(changeArb, { minLength: 1, maxLength: 6 }),
        (records, bundle, changes) => {
          let state = meshStateFrom(records, bundle);
          let result = compileSnapshots(state);
          changes.forEach((change, i) => {
            const step = applyChange(state, change, LATER + i);
            const next = compileIncremental(step.state, result, step.keys);
            expect(texts(next)).toEqual(texts(compileSnapshots(step.state, result.snapshots)));
            for (const [key, snapshot] of next.snapshots) {
              const prior = result.snapshots.get(key);
              if (!prior || next.reason) continue;
              // Forward-only; at the state's version, or past the prior one for a new bundle alone.
              if (prior.hash === snapshot.hash) expect(snapshot.version >= prior.version).toBe(true);
              else expect(snapshot.version > prior.version).toBe(true);
              expect(snapshot.version >= step.state.stateVersion).toBe(true);
            }
            // A mesh that could not compile keeps its gateways' last-known-good.
            if (!next.reason) result = next;
            state = step.state;
          });
        },
      ),
    );
  });
});
