/**
 * How a host configures workload identity, and the defaults: which
 * attestors run, how often a source may try, where used proofs are kept.
 *
 * @module
 */

import type { Provider } from '../model/specs.js';
import type { StateStore } from '../storage/state-store.js';
import type { Attestor } from './attestation/attestor.js';
import { AwsIamAttestor } from './attestation/aws-iam.js';
import { AzureMsiAttestor } from './attestation/azure-msi.js';
import { GcpIitAttestor } from './attestation/gcp-iit.js';
import { JoinTokenAttestor } from './attestation/join-token.js';
import type { JoinTokenStore } from './attestation/join-token-store.js';
import { FixedWindowRateLimiter, type RateLimiter } from './attestation/rate-limiter.js';
import { MemoryReplayCache, type ReplayCache } from './attestation/replay-cache.js';
import { attestationAudience } from './audiences.js';
import type { MeshCa } from './ca.js';

/** Configuration of the `IdentityService`, fixed at start-up. */
export interface IdentityServiceOptions {
  /** Where the Mesh is read from (the API's own store). */
  readonly store: StateStore;
  /** Whose intermediate and JWT key sign what this control plane issues. */
  readonly provider: Provider;
  /**
   * Opens the CA of a trust domain, creating it on first use.
   * It throws `ValidationError` when the CA on record is for another trust domain (as `MeshCa.open` does).
   */
  readonly openCa: (trustDomain: string) => Promise<MeshCa>;
  readonly joinTokens: JoinTokenStore;
  /** Used cloud tokens and SVID proofs. @default a MemoryReplayCache (one process) */
  readonly replayCache?: ReplayCache;
  /** Per source IP on `POST /v1/attest`. @default 60 a minute */
  readonly attestLimiter?: RateLimiter;
  /** Per source IP on `POST /v1/svid/x509` and `/v1/svid/jwt`. @default 600 a minute */
  readonly svidLimiter?: RateLimiter;
  /**
   * The Azure resource (app ID URI or client ID) agents request managed
   * identity tokens for. Entra ID issues tokens only for registered
   * resources, so it cannot be derived from the trust domain.
   * @default none: `azure_msi` attestation is off
   */
  readonly azureAudience?: string;
  /**
   * The cloud attestors of a trust domain; join tokens are always on.
   * @default AWS IAM and GCP IIT for audience `spiffe://<td>`; Azure MSI for `azureAudience`
   */
  readonly cloudAttestors?: (trustDomain: string, replayCache: ReplayCache) => readonly Attestor[];
  /**
   * Called once an intermediate is installed (`PUT /v1/ca/intermediate`):
   * the bundle changed, so every gateway's snapshot should be compiled
   * again. A failure is reported, not thrown: the intermediate stays
   * installed. @default none
   */
  readonly onAuthorityChanged?: () => Promise<void>;
  /** @default Date.now */
  readonly now?: () => number;
}

/** Options with every default filled in. */
export function identityDefaults(options: IdentityServiceOptions) {
  const replayCache = options.replayCache ?? new MemoryReplayCache();
  const now = options.now ?? Date.now;
  const joinTokens = new JoinTokenAttestor({ store: options.joinTokens, now });
  const cloud =
    options.cloudAttestors ??
    ((trustDomain: string, cache: ReplayCache): Attestor[] => {
      const audience = attestationAudience(trustDomain);
      const attestors: Attestor[] = [
        new AwsIamAttestor({ audience, replayCache: cache, now }),
        new GcpIitAttestor({ audience, replayCache: cache, now }),
      ];
      if (options.azureAudience)
        attestors.push(new AzureMsiAttestor({ audience: options.azureAudience, replayCache: cache, now }));
      return attestors;
    });
  return {
    provider: options.provider,
    joinTokens: options.joinTokens,
    replayCache,
    now,
    attestLimiter: options.attestLimiter ?? new FixedWindowRateLimiter({ limit: 60, windowMs: 60_000, now }),
    svidLimiter: options.svidLimiter ?? new FixedWindowRateLimiter({ limit: 600, windowMs: 60_000, now }),
    attestors: (trustDomain: string): Attestor[] => [joinTokens, ...cloud(trustDomain, replayCache)],
    onAuthorityChanged: options.onAuthorityChanged ?? (async () => {}),
  };
}
