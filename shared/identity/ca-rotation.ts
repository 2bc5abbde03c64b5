/**
 * Scheduled rotation: what a timer (EventBridge Scheduler, Cloud Scheduler,
 * a timer trigger) calls every few minutes. Intermediates and JWT keys are
 * replaced once they pass half of their lifetime, so the old key still has
 * the other half to outlive everything it signed.
 *
 * @module
 */
import type { Provider } from '../model/specs.js';
import { DEFAULT_REFRESH_HINT_SECONDS } from './bundle.js';
import type { MeshCa } from './ca.js';

/** Options of {@link rotateDue}. */
export interface RotateDueOptions {
  /**
   * How long a new JWT key is published before it signs: enough for every
   * verifier to refetch the bundle. @default twice the bundle refresh hint
   */
  readonly jwtActivationDelayMs?: number;
}

/** What {@link rotateDue} rotated. */
export interface RotationReport {
  readonly intermediates: readonly Provider[];
  readonly jwtKeys: readonly Provider[];
  /**
   * A federated CA's intermediates past half-life: it holds no root key, so
   * the operator rotates them (`weft ca csr`, `sign`, `install`). Absent when none.
   */
  readonly intermediatesDue?: readonly Provider[];
}

/**
 * Rotates every intermediate and JWT key of `ca` that is past half-life, by
 * the CA's clock. Idempotent: a second call right after does nothing.
 */
export async function rotateDue(ca: MeshCa, options: RotateDueOptions = {}): Promise<RotationReport> {
  const now = ca.now().getTime();
  const half = ca.intermediateTtlMs / 2;
  const delay = options.jwtActivationDelayMs ?? 2 * DEFAULT_REFRESH_HINT_SECONDS * 1000;
  const report = { intermediates: [] as Provider[], jwtKeys: [] as Provider[] };
  const due: Provider[] = [];
  for (const provider of ca.providers) {
    const { certificate } = await ca.issuer(provider);
    if (certificate.notAfter.getTime() - now < half) {
      if (ca.holdsRoot) {
        await ca.rotateIntermediate(provider);
        report.intermediates.push(provider);
      } else due.push(provider);
    }
    const active = await ca.jwtSigningKey(provider);
    if (active.notAfter.getTime() - now < half && !ca.pendingJwtKey(provider)) {
      await ca.rotateJwtKey(provider, { activateInMs: delay });
      report.jwtKeys.push(provider);
    }
  }
  return due.length > 0 ? { ...report, intermediatesDue: due } : report;
}
