/**
 * Config distribution for the local host, wired as a cloud wires it, with
 * in-process parts: the blob store is files under `<dataDir>/blobs`, the bus
 * is a `LocalEventBus`, the `compile` function a subscribed `Distributor`,
 * the scheduled sweep a timer (10 s), and webhooks go out with global fetch.
 *
 * @module
 */
import { join } from 'node:path';
import type { ApiLogger } from '../../shared/api/create-api.js';
import type { DistributionApiOptions } from '../../shared/api/gateway-routes.js';
import { Distributor } from '../../shared/distribution/distribute.js';
import { caAuthority, meshTrust } from '../../shared/distribution/mesh-authority.js';
import { Notifier } from '../../shared/distribution/notifier.js';
import { LocalEventBus } from '../../shared/events/local-event-bus.js';
import { ChangePublisher } from '../../shared/events/publisher.js';
import { RESOURCE_CHANGED } from '../../shared/events/resource-changed.js';
import type { MeshCa } from '../../shared/identity/ca.js';
import type { BlobStore } from '../../shared/storage/blob-store.js';
import type { StateStore, StoredRecord } from '../../shared/storage/state-store.js';
import { FsBlobStore } from './fs-blob-store.js';

/** Options of {@link startLocalDistribution}. */
export interface LocalDistributionOptions {
  readonly dataDir: string;
  readonly store: StateStore;
  /** The host's CA opener (`localCaOpener`), shared with the identity endpoints. */
  readonly openCa: (trustDomain: string) => Promise<MeshCa>;
  readonly logger?: ApiLogger;
  /** How webhooks are POSTed. @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default 10 s */
  readonly sweepIntervalMs?: number;
}

/** Distribution as the local host uses it. */
export interface LocalDistribution {
  readonly blobs: BlobStore;
  /** What `createApi` serves the distribution endpoints from. */
  readonly api: DistributionApiOptions;
  /** `createApi`'s `onWrite`: publishes stored writes. */
  readonly onWrite: (records: readonly StoredRecord[]) => Promise<void>;
  /** Resolves once every change published so far is compiled and its notifications settled. */
  idle(): Promise<void>;
  /** Stops the sweep, the bus and the notifier. */
  close(): Promise<void>;
}

const SILENT: ApiLogger = { info() {}, error() {} };

/** Wires distribution and runs one full compile, so snapshots exist for the state as it is. */
export async function startLocalDistribution(options: LocalDistributionOptions): Promise<LocalDistribution> {
  const { store } = options;
  const logger = options.logger ?? SILENT;
  const blobs = new FsBlobStore(join(options.dataDir, 'blobs'));
  const authority = caAuthority(options.openCa, 'local');
  const notifier = new Notifier({
    ...(options.fetch && { fetch: options.fetch }),
    onOutcome: (o) => (o.result === 'failed' ? logger.error : logger.info)({ msg: 'webhook', ...o }),
  });
  const distributor = new Distributor({ store, blobs, authority, notifier, logger });
  const bus = new LocalEventBus({
    onFailure: ({ error, ...f }) =>
      logger.error({ msg: 'compile: delivery failed', ...f, error: String(error) }),
  });
  bus.subscribe(RESOURCE_CHANGED, async (events) => {
    await distributor.handle(events);
  });
  const publisher = new ChangePublisher({ store, bus, blobs, source: '/weft/local' });

  // Without a Mesh (or with a broken CA) this compiles nothing; the next change tries again in full.
  await distributor.compileAll().catch((error: unknown) => {
    logger.error({ msg: 'compile: the first full compile failed', error: String(error) });
  });
  let sweeping: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    sweeping ??= publisher
      .sweep()
      .catch((error: unknown) => logger.error({ msg: 'sweep failed', error: String(error) }))
      .finally(() => {
        sweeping = undefined;
      });
  }, options.sweepIntervalMs ?? 10_000).unref();

  return {
    blobs,
    api: { blobs, trust: meshTrust(store, authority) },
    onWrite: (records) => publisher.publish(records),
    async idle() {
      await bus.idle();
      await notifier.idle();
    },
    async close() {
      clearInterval(timer);
      await sweeping;
      await bus.close();
      await notifier.close();
    },
  };
}
