/**
 * Config distribution for the local host, run as a cloud runs it, with
 * in-process parts: the bus is a `LocalEventBus` whose subscriber is the
 * control plane's `compile` use case (a cloud's bus-triggered function) and,
 * with peers, its `relay`; the scheduled `sweep` is a timer (10 s), and so
 * is anti-entropy (30 s). The parts themselves are assembled by
 * `composeControlPlane`.
 *
 * @module
 */
import type { ApiLogger } from '../../shared/api/create-api.js';
import { LocalEventBus } from '../../shared/events/local-event-bus.js';
import { RESOURCE_CHANGED } from '../../shared/events/resource-changed.js';
import type { ControlPlane } from '../control-plane/compose-control-plane.js';

/** The local bus, made before the plane (which publishes on it). */
export function localBus(logger: ApiLogger | undefined): LocalEventBus {
  return new LocalEventBus({
    onFailure: ({ error, ...f }) =>
      logger?.error({ msg: 'compile: delivery failed', ...f, error: String(error) }),
  });
}

/** Options of {@link runLocalDistribution}. */
export interface LocalDistributionOptions {
  readonly plane: ControlPlane;
  readonly bus: LocalEventBus;
  readonly logger?: ApiLogger;
  /** @default 10 s */
  readonly sweepIntervalMs?: number;
  /** How often anti-entropy compares with each peer (with replication on). @default 30 s */
  readonly antiEntropyIntervalMs?: number;
}

/** Distribution as the local host runs it. */
export interface LocalDistribution {
  /** Resolves once every change published so far is compiled and its notifications settled. */
  idle(): Promise<void>;
  /** Stops the sweep, the bus and the notifier. */
  close(): Promise<void>;
}

/** Subscribes `compile`, runs one full compile (snapshots for the state as it is), and starts the sweep. */
export async function runLocalDistribution(options: LocalDistributionOptions): Promise<LocalDistribution> {
  const { plane, bus, logger } = options;
  bus.subscribe(RESOURCE_CHANGED, async (events) => {
    await plane.compile(events);
  });
  // Relay its own writes: one subscriber (one queue) per peer, so a peer that is down holds up no other.
  for (const peer of plane.replication?.federation.peers ?? []) {
    bus.subscribe(RESOURCE_CHANGED, (events) => plane.relay(events, peer.cloud));
  }
  // Without a Mesh (or with a broken CA) this compiles nothing; the next change tries again in full.
  await plane.compileAll().catch((error: unknown) => {
    logger?.error({ msg: 'compile: the first full compile failed', error: String(error) });
  });
  let sweeping: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    sweeping ??= plane
      .sweep()
      .catch((error: unknown) => logger?.error({ msg: 'sweep failed', error: String(error) }))
      .finally(() => {
        sweeping = undefined;
      });
  }, options.sweepIntervalMs ?? 10_000).unref();
  let repairing: Promise<unknown> | undefined;
  const repair = () => {
    repairing ??= plane
      .antiEntropy()
      .catch((error: unknown) => logger?.error({ msg: 'anti-entropy failed', error: String(error) }))
      .finally(() => {
        repairing = undefined;
      });
  };
  // One sweep at start: a cloud that was down catches up (and learns its peers' authorities) at once.
  if (plane.replication) repair();
  const antiEntropy =
    plane.replication && setInterval(repair, options.antiEntropyIntervalMs ?? 30_000).unref();

  return {
    async idle() {
      await bus.idle();
      await plane.idle();
    },
    async close() {
      clearInterval(timer);
      clearInterval(antiEntropy);
      await sweeping;
      // A sweep in flight may be waiting on a peer that is stopping too: give it a moment, not its timeout.
      await Promise.race([repairing, new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
      await bus.close();
      await plane.close();
    },
  };
}
