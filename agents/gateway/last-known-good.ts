/**
 * Last-known-good config (DESIGN.md §5, static stability): every applied
 * snapshot is kept on disk in the signed form it arrived in, and a starting
 * agent loads it before it talks to anyone, so a restart while the control
 * plane is down serves what it served before. It is verified again on load
 * (signature against the persisted trust bundle, addressed to this gateway):
 * the file is a cache, not a source of trust.
 *
 * @module
 */
import { verifySnapshot } from '../../shared/contract/signed-snapshot.js';
import type { GatewaySnapshot } from '../../shared/contract/snapshot.js';
import { parseBundle } from '../../shared/identity/bundle.js';
import type { AppliedConfig } from './applied-config.js';
import type { GatewayPath } from './control-plane-client.js';
import { type DataFiles, readOptional, writeAtomic } from './data-files.js';
import type { Logger } from './log.js';
import type { AgentMetrics } from './metrics.js';
import { gatewayIdPath, leafTrustDomain } from './svid-check.js';
import { splitPem } from './svid-store.js';

/** What was found on disk. */
export type LastKnownGood =
  | { readonly kind: 'none' }
  | { readonly kind: 'loaded'; readonly snapshot: GatewaySnapshot; readonly jws: string }
  | { readonly kind: 'refused'; readonly why: string };

/**
 * Loads and verifies `<data>/snapshot.jws` with the bundle and the trust
 * domain of the identity saved beside it. Reads only local files.
 */
export async function loadLastKnownGood(files: DataFiles, gateway: GatewayPath): Promise<LastKnownGood> {
  const [jws, bundleJson, chainPem] = await Promise.all([
    readOptional(files.snapshot),
    readOptional(files.bundle),
    readOptional(files.svidChain),
  ]);
  if (jws === undefined) return { kind: 'none' };
  const trustDomain = chainPem === undefined ? undefined : leafTrustDomain(splitPem(chainPem));
  if (bundleJson === undefined || trustDomain === undefined) {
    return { kind: 'refused', why: 'no saved trust bundle or identity to verify it with' };
  }
  try {
    const expectedSpiffeId = `spiffe://${trustDomain}${gatewayIdPath(gateway)}`;
    const snapshot = await verifySnapshot(jws.trim(), parseBundle(bundleJson), { expectedSpiffeId });
    return { kind: 'loaded', snapshot, jws: jws.trim() };
  } catch (error) {
    return { kind: 'refused', why: (error as Error).message };
  }
}

/** Saves an applied snapshot's signed text as the last-known-good (atomic, 0600). */
export function saveLastKnownGood(files: DataFiles, jws: string): Promise<void> {
  return writeAtomic(files.snapshot, `${jws}\n`);
}

/** What {@link restoreLastKnownGood} puts the snapshot into and reports to. */
export interface RestoreOptions {
  readonly files: DataFiles;
  readonly gateway: GatewayPath;
  readonly applied: AppliedConfig;
  readonly metrics: AgentMetrics;
  readonly logger: Logger;
}

/**
 * Puts the saved snapshot into service if it verifies; a refused one is
 * counted and logged, and the agent waits for the control plane instead.
 */
export async function restoreLastKnownGood(o: RestoreOptions): Promise<void> {
  const lkg = await loadLastKnownGood(o.files, o.gateway);
  if (lkg.kind === 'loaded') {
    const { snapshot, jws } = lkg;
    o.applied.swap({ snapshot, jws, source: 'last-known-good', appliedAt: new Date() });
    o.metrics.configApplied(snapshot.version, snapshot.hash);
    o.logger.info(
      { version: snapshot.version },
      'serving the last-known-good config until the control plane answers',
    );
  } else if (lkg.kind === 'refused') {
    o.metrics.countApply('refused');
    o.logger.warn({ why: lkg.why }, 'last-known-good config refused; waiting for the control plane');
  }
}
