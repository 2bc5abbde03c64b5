/**
 * What the composition roots of the clouds that run the whole control plane
 * (AWS, Google Cloud) read and build alike: the peer clouds (`WEFT_PEERS`),
 * a federated mesh's root (`WEFT_ROOT_CERT`), variables an injected part
 * makes optional, and the last step, the plane over the cloud's adapters with
 * the limits shared through its document store and, with peers, the
 * federation on its relay key. Cloud-agnostic: which adapter is which stays
 * in `functions/<cloud>`.
 *
 * @module
 */
import type { ApiLogger } from '../../shared/api/create-api.js';
import { createOperatorAuthenticator, type OperatorAuthOptions } from '../../shared/api/operator-auth.js';
import type { EventBus } from '../../shared/events/event-bus.js';
import type { RateLimiter } from '../../shared/identity/attestation/rate-limiter.js';
import { BlobCaStore } from '../../shared/identity/blob-ca-store.js';
import type { MeshCa } from '../../shared/identity/ca.js';
import { caOpener } from '../../shared/identity/ca-opener.js';
import type { KeyRing, Signer } from '../../shared/identity/signer.js';
import type { Provider } from '../../shared/model/specs.js';
import {
  type Federation,
  type RelayPeer,
  relayPeerSchema,
  relayPublicKeyOf,
} from '../../shared/replication/federation.js';
import type { PeerTransport } from '../../shared/replication/transport.js';
import type { BlobStore } from '../../shared/storage/blob-store.js';
import { type ControlPlane, type ControlPlanePorts, composeControlPlane } from './compose-control-plane.js';
import type { EnvConfig } from './startup.js';

/**
 * What a caller (a test, a custom build) may hand in instead of what the
 * environment names, on every cloud; each cloud adds its SDK clients.
 */
export interface CloudCompositionOptions {
  /** @default the cloud's object store, in the bucket the environment names */
  readonly blobs?: BlobStore;
  /** @default the cloud's bus, on the topic the environment names */
  readonly bus?: EventBus;
  /** Where the CA's private keys live. @default the cloud's key service, where the environment says */
  readonly keys?: KeyRing;
  /** Opens the mesh CA. @default the CA's state in `blobs`, its keys in `keys` */
  readonly openCa?: (trustDomain: string) => Promise<MeshCa>;
  /** The relay key. @default the key the environment names, in the cloud's key service */
  readonly relaySigner?: Signer;
  /** @default HTTP with `fetch` */
  readonly peerTransport?: PeerTransport;
  /** How webhooks and relays are POSTed. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default JSON lines on the console (the cloud's log service collects them) */
  readonly logger?: ApiLogger;
}

/** A fixed-window limit. */
export interface WindowLimit {
  readonly limit: number;
  readonly windowMs: number;
}

/** Attestation attempts per source across every instance (the identity service's default). */
export const ATTEST_LIMIT: WindowLimit = { limit: 60, windowMs: 60_000 };
/** SVID renewals per workload across every instance (the identity service's default). */
export const SVID_LIMIT: WindowLimit = { limit: 600, windowMs: 60_000 };

/**
 * The value of `name`, required unless the part it configures was
 * injected (a test's, a custom build's): then it is only read.
 */
export function requiredUnless(
  config: EnvConfig,
  name: string,
  detail: string,
  injected: unknown,
): string | undefined {
  return injected ? config.optional(name) : config.require(name, detail);
}

/** `WEFT_PEERS`: the peer clouds as JSON `[{"cloud","url","keys":[JWK with kid]}]` (default none). */
export function readPeers(config: EnvConfig): RelayPeer[] {
  const text = config.optional('WEFT_PEERS');
  if (text === undefined) return [];
  try {
    const parsed = relayPeerSchema.array().max(8).safeParse(JSON.parse(text));
    if (parsed.success) return parsed.data as RelayPeer[];
    const issue = parsed.error.issues[0];
    config.invalid(
      'WEFT_PEERS',
      `is not a peer list: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`,
    );
  } catch {
    config.invalid(
      'WEFT_PEERS',
      'must be JSON: [{"cloud": "gcp", "url": "https://...", "keys": [{"kid": ...}]}]',
    );
  }
  return [];
}

/**
 * `WEFT_PEERS` and the variable naming the relay key, required with peers
 * unless `options` holds a relay signer.
 */
export function readFederation(
  config: EnvConfig,
  relayKey: { readonly name: string; readonly detail: string },
  options: CloudCompositionOptions,
): { readonly peers: RelayPeer[]; readonly relayKey?: string } {
  const peers = readPeers(config);
  const key =
    peers.length > 0
      ? requiredUnless(config, relayKey.name, relayKey.detail, options.relaySigner)
      : config.optional(relayKey.name);
  return { peers, ...(key && { relayKey: key }) };
}

/**
 * The mesh CA as every cloud keeps it: its public state in the blob store,
 * its private keys in `keys` (called only when no `openCa` was injected),
 * issuing as `cloud`, under `rootCertPem` when the mesh is federated.
 */
export function cloudCaOpener(
  cloud: Provider,
  options: CloudCompositionOptions,
  blobs: BlobStore,
  keys: () => KeyRing,
  rootCertPem: string | undefined,
): (trustDomain: string) => Promise<MeshCa> {
  return (
    options.openCa ??
    caOpener({
      store: new BlobCaStore(blobs),
      keys: options.keys ?? keys(),
      providers: [cloud],
      ...(rootCertPem && { root: { certPem: rootCertPem } }),
    })
  );
}

/** `WEFT_ROOT_CERT`: a federated mesh's root certificate, PEM (default: the CA keeps a root of its own). */
export function readRootCert(config: EnvConfig): string | undefined {
  const pem = config.optional('WEFT_ROOT_CERT');
  if (pem && !pem.includes('-----BEGIN CERTIFICATE-----'))
    config.invalid('WEFT_ROOT_CERT', 'must be the mesh root certificate in PEM');
  return pem;
}

/** The adapters of one cloud, as its composition root built them. */
export interface CloudPlaneParts
  extends Pick<
    ControlPlanePorts,
    | 'cloud'
    | 'store'
    | 'openCa'
    | 'joinTokens'
    | 'replayCache'
    | 'blobs'
    | 'bus'
    | 'peerTransport'
    | 'fetch'
    | 'azureAudience'
  > {
  /** Operator token checks, as `operatorAuthFromEnv` read them. */
  readonly auth: OperatorAuthOptions;
  readonly logger: ApiLogger;
  /** A limiter shared across instances (in the cloud's document store), by name. */
  readonly rateLimiter: (name: 'attest' | 'svid', limit: WindowLimit) => RateLimiter;
  readonly peers: readonly RelayPeer[];
  /** The relay key, unless one was injected; called only with peers. */
  readonly relaySigner: () => Signer;
  /** What the caller injected (the peer transport and `fetch` are passed on). */
  readonly injected: CloudCompositionOptions;
}

/**
 * The control plane over one cloud's adapters. The one I/O is reading the
 * relay key's public half (its `kid`), and only with peers.
 *
 * @example
 * const plane = await assembleCloudPlane({ cloud: 'gcp', store, auth, logger, rateLimiter, peers, relaySigner, ... });
 */
export async function assembleCloudPlane(parts: CloudPlaneParts): Promise<ControlPlane> {
  const federation = parts.peers.length > 0 ? await federationOf(parts) : undefined;
  return composeControlPlane({
    cloud: parts.cloud,
    store: parts.store,
    authenticate: createOperatorAuthenticator(parts.auth),
    logger: parts.logger,
    ...(parts.openCa && { openCa: parts.openCa }),
    ...(parts.joinTokens && { joinTokens: parts.joinTokens }),
    // Shared through the cloud's store: a proof used at one instance is used at all, and limits add up.
    ...(parts.replayCache && { replayCache: parts.replayCache }),
    rateLimiters: {
      attest: parts.rateLimiter('attest', ATTEST_LIMIT),
      svid: parts.rateLimiter('svid', SVID_LIMIT),
    },
    ...(parts.blobs && { blobs: parts.blobs }),
    ...(parts.bus && { bus: parts.bus }),
    ...(federation && { federation }),
    ...(parts.injected.peerTransport && { peerTransport: parts.injected.peerTransport }),
    ...(parts.injected.fetch && { fetch: parts.injected.fetch }),
    ...(parts.azureAudience && { azureAudience: parts.azureAudience }),
  });
}

async function federationOf(parts: CloudPlaneParts): Promise<Federation> {
  const self: Provider = parts.cloud;
  const signer = parts.injected.relaySigner ?? parts.relaySigner();
  const { kid } = await relayPublicKeyOf(signer, self);
  return { self, signingKey: { kid, signer }, peers: parts.peers };
}
