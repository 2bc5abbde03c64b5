/**
 * The version a gateway's snapshot is stamped with. Agents refuse a snapshot
 * whose version is not greater than the one they run, and may fetch from any
 * cloud's control plane, each compiling from its own replica of the store.
 * So the version must be (1) forward-only: a gateway's content changes only
 * with a strictly greater version, and its version never goes back; and (2)
 * deterministic: every cloud holding the same records stamps the same
 * version, whether it compiles from scratch or incrementally, in any order.
 *
 * **The rule: a snapshot's version is `state.stateVersion`, the greatest HLC
 * version of every record in the store, tombstones included**, for every
 * gateway, whether or not its content changed. It is a function of the
 * records alone (2), and grows with every write newer than the state, a
 * delete included (1).
 *
 * Why not the greatest version among the records one gateway depends on:
 * that cannot be both (1) and (2), because the store keeps only the newest
 * record of each key. Say gateway `gw-x` in environment `gcp`, written at 7,
 * is rewritten at 20 to an environment that does not exist: every gateway's
 * environment list loses it, so their content changes and their version
 * must pass 7; but the store now holds only the record at 20, which is
 * exactly what an unrelated write (a gateway of a missing environment, never
 * anywhere else) leaves, so a cold compile cannot tell the two apart and must
 * count the write at 20 for everyone. Deletes are the same (a tombstone does
 * not say what it deleted). And every key can reach every gateway (the
 * egress catalogue and the environment list are mesh-wide, any policy can
 * name any service), so no record can be left out. Hence every write past
 * the state's version moves every gateway's version, even where its content
 * (its hash) stays the same: `changed` still names only the gateways whose
 * content changed, and agents fetch with `If-None-Match: <hash>`, so a
 * version-only move costs them at most a 304. In exchange, an agent that ran
 * content another cloud compiled from a state this one never saw is shown
 * this cloud's different content at a greater version, not refused it.
 *
 * Where the records alone cannot say that content moved, the version falls
 * back on the gateway's previous one (see {@link nextVersion}): a new trust
 * bundle (it is no record, its `spiffe_sequence` is no HLC, and its keys
 * also drop out as they expire without a new sequence), a late write (older
 * than the state's greatest version, replicated after a newer one), or a
 * store restored from a backup. Changed content then gets a version just past
 * the previous one, unchanged content keeps the greater of the two. That
 * stays forward-only, but depends on the history of the cloud that compiled
 * it, until the next write past it; a cloud compiling the same state from
 * scratch gives the same content (the same hash) a lower version.
 *
 * @module
 */
import type { GatewaySnapshot } from '../contract/snapshot.js';
import { formatHlc, parseHlc } from '../model/hlc.js';

/**
 * The snapshot to serve for content the compiler found unchanged from
 * `prior`: `prior` itself, or at `stateVersion` when that is newer.
 */
export function keepContent(prior: GatewaySnapshot, stateVersion: string): GatewaySnapshot {
  return stateVersion > prior.version ? Object.freeze({ ...prior, version: stateVersion }) : prior;
}

/**
 * The version for changed content: the state's, or, should the state not
 * stand past the previous snapshot (a new bundle alone, a late write, a
 * store restored from a backup), just past the previous version, since
 * agents refuse a version that does not move forward.
 */
export function nextVersion(stateVersion: string, prior: string | undefined): string {
  if (prior === undefined || stateVersion > prior) return stateVersion;
  const hlc = parseHlc(prior);
  if (!hlc) return stateVersion;
  const { wall, counter, node } = hlc;
  return formatHlc(
    counter < 999_999 ? { wall, counter: counter + 1, node } : { wall: wall + 1, counter: 0, node },
  );
}
