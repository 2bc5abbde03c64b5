/**
 * The one assembly of weft's control plane. Every host calls it, the local
 * dev host and each cloud's composition root alike, so a cloud root is
 * adapter construction and little else:
 *
 * ```
 * ports (state, blobs, bus, CA keys, join tokens, clock, logger)
 *   -> API (HTTP) + identity + distribution (publisher, sweep, compile, notifier, convergence)
 * ```
 *
 * What a host lacks turns a part off, never on by accident: no `openCa`
 * means no identity and no distribution (nothing can sign); no `blobs`
 * means no distribution; no `bus` means writes are not published (the
 * compile use case still runs on events the host delivers itself).
 *
 * @module
 */
import { type ApiLogger, createApi } from '../../shared/api/create-api.js';
import type { Authenticator } from '../../shared/api/operator-auth.js';
import type { Api } from '../../shared/api/types.js';
import { type DistributeReport, Distributor } from '../../shared/distribution/distribute.js';
import { readGatewayStatus } from '../../shared/distribution/gateway-status.js';
import { caAuthority, meshTrust } from '../../shared/distribution/mesh-authority.js';
import { logNotifyOutcome, Notifier } from '../../shared/distribution/notifier.js';
import type { CloudEvent } from '../../shared/events/cloud-event.js';
import type { EventBus } from '../../shared/events/event-bus.js';
import { ChangePublisher } from '../../shared/events/publisher.js';
import { RESOURCE_CHANGED, resourceChangedEvent } from '../../shared/events/resource-changed.js';
import type { JoinTokenStore } from '../../shared/identity/attestation/join-token-store.js';
import { FixedWindowRateLimiter, type RateLimiter } from '../../shared/identity/attestation/rate-limiter.js';
import type { ReplayCache } from '../../shared/identity/attestation/replay-cache.js';
import type { MeshCa } from '../../shared/identity/ca.js';
import { IdentityService } from '../../shared/identity/identity-service.js';
import { HybridLogicalClock } from '../../shared/model/hlc.js';
import type { ResourceKey } from '../../shared/model/kinds.js';
import { keyOf, parseResource } from '../../shared/model/resource.js';
import type { Provider } from '../../shared/model/specs.js';
import type { SweepReport } from '../../shared/replication/anti-entropy.js';
import type { Federation } from '../../shared/replication/federation.js';
import { type AuthorityExchange, Replication } from '../../shared/replication/replication.js';
import type { PeerTransport } from '../../shared/replication/transport.js';
import { ResourceService, type WriteResult } from '../../shared/resources/resource-service.js';
import type { BlobStore } from '../../shared/storage/blob-store.js';
import type { StateStore, StoredRecord } from '../../shared/storage/state-store.js';

/** The ports a host hands over; every optional one turns a part off when absent. */
export interface ControlPlanePorts {
  /** Which cloud this control plane runs in: the HLC node, the issuing provider, the events' `source`. */
  readonly cloud: Provider;
  readonly store: StateStore;
  /** Checks operator tokens. */
  readonly authenticate: Authenticator;
  /**
   * Opens the mesh CA (its signing keys) of a trust domain.
   * @default none: no identity and no distribution, and the host says why
   */
  readonly openCa?: (trustDomain: string) => Promise<MeshCa>;
  /** Where join tokens live. @default none: identity off */
  readonly joinTokens?: JoinTokenStore;
  /** Signed snapshots, status reports and watermarks. @default none: distribution off */
  readonly blobs?: BlobStore;
  /** Where stored writes are published. @default none: writes are not published */
  readonly bus?: EventBus;
  /** @default silent */
  readonly logger?: ApiLogger;
  /** How webhooks are POSTed. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** `POST /v1/attest` attempts per source address. @default the identity service's */
  readonly attestRateLimit?: { readonly limit: number; readonly windowMs: number };
  /**
   * Where used attestation proofs are remembered. A cloud passes one in its
   * document store, so every function instance refuses a replayed proof.
   * @default in memory (one process)
   */
  readonly replayCache?: ReplayCache;
  /**
   * Limiters shared across function instances (they take precedence over
   * `attestRateLimit`). @default in memory, per process
   */
  readonly rateLimiters?: { readonly attest?: RateLimiter; readonly svid?: RateLimiter };
  /**
   * This cloud's relay key and its peers: replication on (it also needs
   * `blobs`). @default none: this control plane replicates with nobody
   */
  readonly federation?: Federation;
  /** How peers are reached. @default HTTP with `fetch` */
  readonly peerTransport?: PeerTransport;
  /**
   * The resource agents request Azure managed identity tokens for (an app
   * ID URI or client ID): `azure_msi` attestation on. @default none: off
   */
  readonly azureAudience?: string;
}

/**
 * Writes as the API makes them (this plane's clock and store) and publishes
 * them as the API does: for writers that are not operators, such as tag
 * registration.
 */
export interface ResourceWriter {
  /** The stored record, or `undefined` when there is none or it is deleted. */
  get(key: ResourceKey): Promise<StoredRecord | undefined>;
  /** Creates or replaces the document (as `PUT`); publishes the write. */
  put(document: unknown): Promise<WriteResult>;
  /** Deletes (as `DELETE`); publishes the write. @throws NotFoundError when absent. */
  delete(key: ResourceKey): Promise<WriteResult>;
}

/** The assembled control plane: the API and the use cases a cloud's functions call. */
export interface ControlPlane {
  readonly api: Api;
  /** Writes outside the API, published like the API's. */
  readonly resources: ResourceWriter;
  /** The state store it was composed over (for readers beside the API: the registrar). */
  readonly store: StateStore;
  /** The blob store it was composed over, when it has one. */
  readonly blobs?: BlobStore;
  /** Workload identity, when `openCa` and `joinTokens` were given. */
  readonly identity?: IdentityService;
  /** Whether snapshots are compiled, signed and stored here. */
  readonly distributes: boolean;
  /**
   * The bus-triggered `compile` use case: rebuilds, signs and stores the
   * snapshots a batch of change events touches, then notifies the gateways.
   * Idempotent; malformed events are logged and skipped.
   *
   * @returns `undefined` when the events named nothing new or distribution is off.
   */
  compile(events: readonly CloudEvent[]): Promise<DistributeReport | undefined>;
  /** Reads the whole state and compiles every gateway (a cold start, a repair). */
  compileAll(): Promise<DistributeReport | undefined>;
  /**
   * The scheduled `sweep` use case: republishes every stored write the bus
   * has not carried (a crash between store and publish loses nothing).
   *
   * @returns how many events it published (0 with no bus).
   */
  sweep(): Promise<number>;
  /** Replication with peer clouds, when `federation` and `blobs` were given. */
  readonly replication?: Replication;
  /**
   * The bus-triggered `relay` use case: relays the writes this cloud made
   * among a batch of change events to every peer, or to `peer` alone (one
   * subscription per peer keeps a dead peer from holding up the rest). Never
   * throws (what it gives up on, anti-entropy repairs); a no-op without replication.
   */
  relay(events: readonly CloudEvent[], peer?: string): Promise<void>;
  /**
   * The scheduled `anti-entropy` use case: compares with each peer and pulls
   * what is missing or newer, then forgets expired relay `jti`s.
   *
   * @returns one report per peer (none without replication).
   */
  antiEntropy(): Promise<SweepReport[]>;
  /** Resolves once every webhook notification started so far has settled. */
  idle(): Promise<void>;
  /** Lets notifications in flight settle. */
  close(): Promise<void>;
}

const SILENT: ApiLogger = { info() {}, error() {} };

/**
 * Builds the API, identity and distribution from ports. Does no I/O.
 *
 * @example
 * const plane = composeControlPlane({ cloud: 'aws', store, authenticate, openCa, joinTokens, blobs, bus });
 * export const compile = createAwsCompileHandler(plane);
 */
export function composeControlPlane(ports: ControlPlanePorts): ControlPlane {
  const logger = ports.logger ?? SILENT;
  const { store, openCa, blobs } = ports;
  const limit = ports.attestRateLimit;
  const identity =
    openCa && ports.joinTokens
      ? new IdentityService({
          store,
          provider: ports.cloud,
          openCa,
          joinTokens: ports.joinTokens,
          ...(limit && { attestLimiter: new FixedWindowRateLimiter(limit) }),
          ...(ports.rateLimiters?.attest && { attestLimiter: ports.rateLimiters.attest }),
          ...(ports.rateLimiters?.svid && { svidLimiter: ports.rateLimiters.svid }),
          ...(ports.replayCache && { replayCache: ports.replayCache }),
          ...(ports.azureAudience && { azureAudience: ports.azureAudience }),
          // An installed intermediate changes every snapshot's bundle (read when called: declared below).
          onAuthorityChanged: async () => {
            await distributor?.compileAll();
          },
        })
      : undefined;

  const authority = openCa && caAuthority(openCa, ports.cloud);
  const notifier =
    authority &&
    new Notifier({
      ...(ports.fetch && { fetch: ports.fetch }),
      onOutcome: logNotifyOutcome(logger),
      // A gateway not started yet (never reported) failing to take a webhook is no error.
      ...(blobs && { hasReported: async (g: string) => (await readGatewayStatus(blobs, g)) !== undefined }),
    });
  const distributor =
    authority && blobs && notifier && new Distributor({ store, blobs, authority, notifier, logger });
  const publisher =
    ports.bus &&
    blobs &&
    new ChangePublisher({ store, bus: ports.bus, blobs, source: `/weft/${ports.cloud}` });

  const hlc = new HybridLogicalClock(ports.cloud);
  const source = `/weft/${ports.cloud}`;
  const replication =
    ports.federation &&
    blobs &&
    new Replication({
      federation: ports.federation,
      store,
      blobs,
      hlc,
      ...(ports.peerTransport && { transport: ports.peerTransport }),
      ...(ports.fetch && { fetch: ports.fetch }),
      logger: { info: (e) => logger.info(e), warn: (e) => (logger.warn ? logger.warn(e) : logger.info(e)) },
      // A peer's new authorities change every snapshot's bundle: compile them all again.
      ...(openCa && {
        authorities: authorityExchange(store, openCa, ports.cloud, async () => {
          await distributor?.compileAll();
        }),
      }),
      // What peers wrote compiles here as local writes do: through the bus, or at once without one.
      onMerged: async (records) => {
        if (publisher) await publisher.publish(records);
        else await distributor?.handle(records.map((r) => resourceChangedEvent(r, source)));
      },
    });

  const service = new ResourceService({ store, hlc });
  const published = async (result: WriteResult) => {
    if (publisher && result.action !== 'unchanged') {
      // Stored is stored: a failed publish is the sweep's to repeat, not the writer's to see.
      await publisher
        .publish([result.record])
        .catch((error) =>
          logger.error({ msg: 'publishing writes failed; the sweep publishes them', error: String(error) }),
        );
    }
    return result;
  };
  const resources: ResourceWriter = {
    get: async (key) => {
      const record = await store.get(key);
      return record?.resource ? record : undefined;
    },
    put: async (document) => published(await service.put(document, keyOf(parseResource(document)))),
    delete: async (key) => published(await service.delete(key)),
  };

  const api = createApi({
    store,
    hlc,
    authenticate: ports.authenticate,
    logger,
    ...(identity && { identity }),
    ...(authority &&
      blobs && {
        distribution: {
          blobs,
          trust: meshTrust(store, authority),
          ...(replication && {
            elsewhere: (gateways: readonly string[]) => replication.appliedElsewhere(gateways),
          }),
        },
      }),
    ...(publisher && { onWrite: (records) => publisher.publish(records) }),
    ...(replication && { replication }),
    ...(blobs && { registration: { blobs } }),
  });

  return {
    api,
    resources,
    store,
    ...(blobs && { blobs }),
    ...(identity && { identity }),
    distributes: distributor !== undefined,
    compile: async (events) => distributor?.handle(events.filter((e) => e.type === RESOURCE_CHANGED)),
    compileAll: async () => distributor?.compileAll(),
    sweep: async () => (publisher ? publisher.sweep() : 0),
    ...(replication && { replication }),
    relay: async (events, peer) => replication?.relay(events, peer),
    antiEntropy: async () => (replication ? replication.sweep() : []),
    idle: async () => notifier?.idle(),
    close: async () => notifier?.close(),
  };
}

/**
 * Federated identity's statements, on the CA of the mesh's trust domain: a
 * cloud without a Mesh yet, or without its intermediate, has none to give
 * and takes none.
 */
function authorityExchange(
  store: StateStore,
  openCa: (trustDomain: string) => Promise<MeshCa>,
  cloud: Provider,
  onChanged: () => Promise<void>,
): AuthorityExchange {
  const ca = async () => {
    const mesh = (await store.list('Mesh'))[0]?.resource;
    return mesh?.kind === 'Mesh' ? openCa(mesh.spec.trustDomain) : undefined;
  };
  return {
    async own() {
      const opened = await ca();
      return opened?.providers.includes(cloud)
        ? opened.authorityStatement(cloud).catch(() => undefined)
        : undefined;
    },
    async add(statement) {
      const opened = await ca();
      const changed = opened ? await opened.addPeerStatement(statement) : false;
      if (changed) await onChanged();
      return changed;
    },
  };
}
