/**
 * `createDataPlane`: the gateway's traffic half, as a library the agent
 * mounts. The agent's control loop owns snapshots and credentials and pushes
 * them in; the data plane owns two listeners (egress for local workloads,
 * ingress for other gateways), the pools behind them, and telemetry.
 *
 * Swaps are atomic by reference: a call reads the snapshot index, the
 * transport and the verifier when it needs them, so it never sees half of
 * an update, and state that must outlive a snapshot (ejections, retry
 * budgets, balancer positions) is kept by service.
 *
 * @module
 */
import type { Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { GatewaySnapshot } from '../../../shared/contract/snapshot.js';
import { JwtSvidVerifier } from '../../../shared/identity/jwt-svid.js';
import { MAX_ROUTE_TIMEOUT_MS } from '../../../shared/model/duration-ranges.js';
import { ValidationError } from '../../../shared/model/errors.js';
import type { DataPlaneContext } from './context.js';
import { type CredentialMaterial, loadCredentials } from './credentials.js';
import { createEgressServer } from './egress.js';
import { EndpointPools } from './endpoint-pools.js';
import { createIngressServer, ingressSecureContext } from './ingress.js';
import { closeServer, listenOn } from './listen.js';
import type { BoundAddresses, DataPlane, DataPlaneOptions } from './options.js';
import { OtlpExporter } from './otlp-exporter.js';
import { OutlierDetector } from './outlier.js';
import { RetryBudget } from './retry-budget.js';
import { indexSnapshot, type SnapshotIndex } from './snapshot-index.js';
import { otlpTracesUrl, Telemetry } from './telemetry.js';
import { GatewayTransport } from './transport.js';

/**
 * Creates a data plane from the current snapshot and credentials. Nothing
 * listens until `listen()`.
 *
 * @throws ValidationError when the snapshot or the credentials are for another gateway or unusable.
 * @example
 * const plane = createDataPlane({ environment: 'aws-us', gatewayName: 'gw-1', credentials: () => creds, snapshot: () => snap, registry, logger });
 * await plane.listen({ ingressAddress: '0.0.0.0:15443', egressAddress: '127.0.0.1:15001' });
 * plane.applySnapshot(next); // on every verified snapshot
 * plane.updateCredentials(rotated); // on every SVID rotation
 */
export function createDataPlane(options: DataPlaneOptions): DataPlane {
  const logger = (options.logger ?? pino({ name: 'weft-gateway' })).child({ component: 'dataplane' });
  const checkSnapshot = (snapshot: GatewaySnapshot): SnapshotIndex => {
    const { environment, name } = snapshot.gateway;
    if (environment !== options.environment || name !== options.gatewayName)
      throw new ValidationError(`snapshot is for gateway ${environment}/${name}`, [
        { pointer: '/gateway', detail: `expected ${options.environment}/${options.gatewayName}` },
      ]);
    return indexSnapshot(snapshot);
  };
  const checkCredentials = (material: CredentialMaterial, index: SnapshotIndex) => {
    if (material.spiffeId !== index.snapshot.gateway.spiffeId)
      throw new ValidationError(`the SVID is for ${material.spiffeId}`, [
        { pointer: '/certChainPem/0', detail: `expected ${index.snapshot.gateway.spiffeId}` },
      ]);
    return material;
  };

  let index = checkSnapshot(options.snapshot());
  let material = checkCredentials(loadCredentials(options.credentials()), index);
  const newVerifier = () =>
    new JwtSvidVerifier({ bundle: material.bundle, trustDomain: index.snapshot.mesh.trustDomain });
  let verifier = newVerifier();
  let transport = new GatewayTransport(material, options.transport);
  const budgets = new Map<string, RetryBudget>();
  const url = options.otlpTracesUrl ?? otlpTracesUrl();
  const exporter = url
    ? new OtlpExporter({
        url,
        resource: {
          'service.name': 'weft-gateway',
          'weft.environment': options.environment,
          'weft.gateway': options.gatewayName,
        },
        onError: (error) =>
          logger.warn({ err: error instanceof Error ? error.message : error }, 'span export failed'),
      })
    : undefined;
  const ctx: DataPlaneContext = {
    environment: options.environment,
    gatewayName: options.gatewayName,
    index: () => index,
    transport: () => transport,
    verifier: () => verifier,
    endpoints: new EndpointPools(options.endpoints),
    outliers: new OutlierDetector({ now: options.now }),
    retryBudget: (service) => {
      let budget = budgets.get(service);
      if (!budget) {
        budget = new RetryBudget({ now: options.now });
        budgets.set(service, budget);
      }
      return budget;
    },
    telemetry: new Telemetry({
      registry: options.registry ?? new Registry(),
      logger: options.accessLogger?.child({ component: 'dataplane' }) ?? logger,
      eventLogger: logger,
      exporter,
    }),
    random: options.random ?? Math.random,
    logger,
    limits: {
      maxRequestBodyBytes: 8 << 20,
      ingressTimeoutMs: 15_000,
      // The longest Route timeout the API accepts: every accepted timeout is kept.
      maxIngressTimeoutMs: MAX_ROUTE_TIMEOUT_MS,
      ...options.limits,
    },
  };
  let servers: { ingress: HttpsServer; egress: HttpServer } | undefined;
  let addresses: BoundAddresses | undefined;

  return {
    applySnapshot(snapshot = options.snapshot()) {
      const next = checkSnapshot(snapshot);
      const tdChanged = next.snapshot.mesh.trustDomain !== index.snapshot.mesh.trustDomain;
      index = next;
      if (tdChanged) verifier = newVerifier();
      const hosts = new Set(next.egress.keys());
      ctx.outliers.retain(hosts);
      for (const host of budgets.keys()) if (!hosts.has(host)) budgets.delete(host);
      transport.retain(next.snapshot.egress.environments.flatMap((e) => e.gateways));
      ctx.endpoints.retain(next.snapshot.ingress.services);
      logger.info({ version: snapshot.version, hash: snapshot.hash }, 'snapshot applied');
    },
    updateCredentials(credentials = options.credentials()) {
      const next = checkCredentials(loadCredentials(credentials), index);
      const bundleChanged = next.bundleFingerprint !== material.bundleFingerprint;
      material = next;
      if (bundleChanged) verifier.updateBundle(next.bundle);
      servers?.ingress.setSecureContext(ingressSecureContext(next));
      const old = transport;
      transport = new GatewayTransport(next, options.transport);
      old.close().then(
        () => logger.info('old gateway pools drained'),
        (error: unknown) => logger.warn({ err: error }, 'old gateway pools failed to drain'),
      );
      logger.info(
        { spiffeId: next.spiffeId, expiresAt: next.expiresAt, bundleChanged },
        'credentials rotated',
      );
    },
    async listen(listen = {}) {
      if (servers) throw new TypeError('the data plane is already listening');
      const gateway = index.snapshot.gateway;
      servers = { ingress: createIngressServer(ctx, material), egress: createEgressServer(ctx) };
      const bound = {
        ingress: await listenOn(servers.ingress, listen.ingressAddress ?? gateway.address),
        egress: await listenOn(
          servers.egress,
          listen.egressAddress ?? gateway.egressAddress ?? '127.0.0.1:15001',
        ),
      };
      addresses = bound;
      logger.info(bound, 'data plane listening');
      return bound;
    },
    get addresses() {
      return addresses;
    },
    async close() {
      const drainMs = options.drainMs ?? 5_000;
      if (servers)
        await Promise.all([closeServer(servers.ingress, drainMs), closeServer(servers.egress, drainMs)]);
      await Promise.allSettled([transport.close(), ctx.endpoints.close(), ctx.telemetry.close()]);
      logger.info('data plane closed');
    },
  };
}
