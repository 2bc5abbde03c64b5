/**
 * Mounts the data plane (`dataplane/`) on the control loop: it is created
 * and starts listening once a config is applied (from the control plane or
 * the last-known-good on disk) and the agent has credentials, then gets every
 * verified snapshot and every credential change (rotation, bundle update).
 * Nothing here takes a config or credentials away from it, so with the
 * control plane down it keeps carrying traffic on what it has (static
 * stability).
 *
 * @module
 */
import type { Registry } from 'prom-client';
import type { AppliedConfig } from './applied-config.js';
import type { CurrentCredentials } from './credentials.js';
import { type BoundAddresses, createDataPlane, type DataPlane } from './dataplane/index.js';
import { DataPlaneListenError } from './errors.js';
import { type Logger, reason } from './log.js';

/** Options of {@link mountDataPlane}. */
export interface DataPlaneMountOptions {
  readonly environment: string;
  readonly name: string;
  readonly applied: AppliedConfig;
  readonly registry: Registry;
  readonly logger: Logger;
  /** Access lines, one per call per hop. @default `logger` */
  readonly accessLogger?: Logger;
  /** @default the snapshot's `gateway.address` */
  readonly ingressAddress?: string;
  /** @default the snapshot's `gateway.egressAddress`, else `fallbackEgressAddress` */
  readonly egressAddress?: string;
  /** The egress address when neither the flag nor the snapshot names one. */
  readonly fallbackEgressAddress: string;
}

/** What the mount needs of the agent's credentials (`AgentCredentials` is one). */
export interface MountCredentials {
  current(): CurrentCredentials;
  /** @returns unsubscribe */
  onChange(listener: (c: CurrentCredentials) => void): () => unknown;
}

/** The data plane as the agent holds it. */
export interface MountedDataPlane {
  /**
   * Hands over the credentials source and starts listening if a config is
   * applied; otherwise the first applied config starts it.
   *
   * @throws DataPlaneListenError (`EADDRINUSE`...) when it starts here: a
   *   bad address fails start-up.
   */
  attach(credentials: MountCredentials): Promise<void>;
  /** Why it carries no traffic, or `undefined` when it listens. */
  unready(): string | undefined;
  readonly addresses: BoundAddresses | undefined;
  /** Stops the listeners (calls in flight drain for a while) and the pools. */
  close(): Promise<void>;
}

/** Builds the mount; nothing listens before {@link MountedDataPlane.attach}. */
export function mountDataPlane(o: DataPlaneMountOptions): MountedDataPlane {
  let plane: DataPlane | undefined;
  let current: (() => CurrentCredentials) | undefined;
  let starting: Promise<void> | undefined;
  let problem: string | undefined;
  let closed = false;
  let unsubscribeCredentials: (() => unknown) | undefined;

  const start = async (): Promise<void> => {
    const applied = o.applied.current;
    if (plane || closed || !applied || !current) return;
    const { gateway } = applied.snapshot;
    const creds = current();
    const next = createDataPlane({
      environment: o.environment,
      gatewayName: o.name,
      credentials: () => creds,
      snapshot: () => o.applied.current!.snapshot,
      registry: o.registry,
      logger: o.logger,
      ...(o.accessLogger && { accessLogger: o.accessLogger }),
    });
    const addresses = {
      ingressAddress: o.ingressAddress ?? gateway.address,
      egressAddress: o.egressAddress ?? gateway.egressAddress ?? o.fallbackEgressAddress,
    };
    try {
      await next.listen(addresses);
    } catch (error) {
      await next.close();
      problem = `the data plane cannot listen (ingress ${addresses.ingressAddress}, egress ${addresses.egressAddress}): ${reason(error)}`;
      throw new DataPlaneListenError(problem, { cause: error });
    }
    if (closed) return next.close();
    plane = next;
    problem = undefined;
    // A snapshot applied, or credentials rotated, while it was binding.
    if (o.applied.current !== applied) plane.applySnapshot(o.applied.current!.snapshot);
    const now = current();
    if (now.certChainPem !== creds.certChainPem || now.bundle !== creds.bundle) plane.updateCredentials(now);
  };
  const startOnce = () => {
    starting ??= start().finally(() => {
      starting = undefined;
    });
    return starting;
  };

  const unsubscribe = o.applied.subscribe((applied) => {
    if (!plane) {
      startOnce().catch((error: unknown) =>
        o.logger.error({ why: reason(error) }, 'data plane not started; retrying with the next config'),
      );
      return;
    }
    try {
      plane.applySnapshot(applied.snapshot);
    } catch (error) {
      o.logger.error(
        { version: applied.snapshot.version, why: reason(error) },
        'the data plane refused the config; it keeps the previous one',
      );
    }
  });

  return {
    async attach(credentials) {
      current = () => credentials.current();
      unsubscribeCredentials = credentials.onChange((c) => {
        try {
          plane?.updateCredentials(c);
        } catch (error) {
          o.logger.error(
            { why: reason(error) },
            'the data plane refused the credentials; it keeps the old ones',
          );
        }
      });
      await startOnce();
    },
    unready() {
      if (plane) return undefined;
      // Before a config and an identity, readiness already says what is missing.
      return o.applied.current && current ? (problem ?? 'the data plane is starting') : undefined;
    },
    get addresses() {
      return plane?.addresses;
    },
    async close() {
      closed = true;
      unsubscribe();
      unsubscribeCredentials?.();
      await starting?.catch(() => {});
      await plane?.close();
    },
  };
}
