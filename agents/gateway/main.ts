/**
 * The gateway agent's composition root: everything is built and wired here,
 * once, in the order static stability needs:
 *
 * 1. the admin port, so `/healthz` and `/readyz` answer from the first moment;
 * 2. the last-known-good snapshot from disk, verified, before any network;
 * 3. the identity: the saved X.509-SVID, or attestation with the join token
 *    or the AWS IAM role (at home: `failover-client.ts` says why);
 * 4. rotation of the credentials, and config sync (poll + webhook);
 * 5. the data plane, listening as soon as a config (possibly the
 *    last-known-good) and credentials are both there, and fed every verified
 *    snapshot and every credential change from then on.
 *
 * `weft agent` runs it; tests start it in process or as a child.
 *
 * @example
 * const agent = await startGatewayAgent({ environment: 'aws', name: 'aws-edge',
 *   controlPlaneUrl: 'http://127.0.0.1:7070', joinToken, dataDir: '.weft-agent' });
 * await agent.close();
 *
 * @module
 */

import { attestationAudience } from '../../shared/identity/audiences.js';
import { createAccessLog } from './access-log.js';
import { startAdminServer } from './admin-server.js';
import { AppliedConfig } from './applied-config.js';
import { bootstrapIdentity } from './bootstrap.js';
import { ConfigSync } from './config-sync.js';
import { ControlPlaneClient } from './control-plane-client.js';
import { AgentCredentials } from './credentials.js';
import { dataFiles, ensureDataDir } from './data-files.js';
import { type MountedDataPlane, mountDataPlane } from './data-plane-mount.js';
import type { BoundAddresses } from './dataplane/index.js';
import { type ControlPlaneStatus, displayUrl, FailoverClient } from './failover-client.js';
import { restoreLastKnownGood } from './last-known-good.js';
import { createAgentLogger } from './log.js';
import { AgentMetrics } from './metrics.js';
import { DEFAULT_EGRESS_PORT, type GatewayAgentOptions, validateAgentOptions } from './options.js';
import { handleNotify } from './webhook.js';

export type { GatewayAgentOptions } from './options.js';

/** A running agent. */
export interface GatewayAgent {
  /** The admin server's `host:port`, as bound. */
  readonly adminAddress: string;
  readonly spiffeId: string;
  /** The applied snapshot; the data plane subscribes here. */
  readonly config: AppliedConfig;
  /** The SVID, key and bundle; the data plane subscribes here. */
  readonly credentials: AgentCredentials;
  readonly sync: ConfigSync;
  readonly metrics: AgentMetrics;
  /** Which control plane the agent talks to now (home, or a peer while home is down). */
  readonly controlPlane: ControlPlaneStatus;
  /** The data plane's bound ingress and egress, once it listens (never with `dataPlane: false`). */
  readonly dataPlaneAddresses: BoundAddresses | undefined;
  /** Stops timers and servers. The data directory keeps everything for the next start. */
  close(): Promise<void>;
}

/**
 * Starts an agent and resolves once it has an identity and is syncing.
 *
 * @throws TypeError for bad options; JoinTokenNeededError when it has no
 *   identity and no join token that works; AwsIamAttestationError when, with
 *   `aws-iam`, it finds no AWS credentials or its proof is refused; the abort
 *   reason when `signal` aborts during start-up.
 */
export async function startGatewayAgent(options: GatewayAgentOptions): Promise<GatewayAgent> {
  const o = validateAgentOptions(options);
  const gateway = { environment: o.environment, name: o.name };
  const logger =
    o.logger ??
    createAgentLogger({ gateway: `${o.environment}/${o.name}`, ...(o.logLevel && { level: o.logLevel }) });
  // Batched, unlike the agent's own events; a logger handed in (tests) gets the access lines too.
  const access =
    o.logger || o.dataPlane === false
      ? undefined
      : createAccessLog({ gateway: `${o.environment}/${o.name}`, ...(o.logLevel && { level: o.logLevel }) });
  const metrics = new AgentMetrics();
  const files = dataFiles(o.dataDir);
  await ensureDataDir(files.dir);
  const applied = new AppliedConfig();
  const client = new FailoverClient({
    planes: [o.controlPlaneUrl, ...o.peerControlPlaneUrls].map((url) => ({
      url,
      client: new ControlPlaneClient({ url, ...(o.fetch && { fetch: o.fetch }) }),
    })),
    logger,
    ...(o.homeProbeIntervalMs && { homeProbeIntervalMs: o.homeProbeIntervalMs }),
    onSwitch: ({ current, atHome }) => metrics.controlPlaneCurrent(current, atHome),
  });
  metrics.controlPlaneCurrent(displayUrl(o.controlPlaneUrl), true, false);
  let credentials: AgentCredentials | undefined;
  let sync: ConfigSync | undefined;
  const adminHost = o.adminAddress.slice(0, o.adminAddress.lastIndexOf(':'));
  const plane: MountedDataPlane | undefined =
    o.dataPlane === false
      ? undefined
      : mountDataPlane({
          environment: o.environment,
          name: o.name,
          applied,
          registry: metrics.registry,
          logger,
          ...(access && { accessLogger: access.logger }),
          ...(o.ingressAddress && { ingressAddress: o.ingressAddress }),
          ...(o.egressAddress && { egressAddress: o.egressAddress }),
          fallbackEgressAddress: `${adminHost}:${DEFAULT_EGRESS_PORT}`,
        });

  const admin = await startAdminServer({
    address: o.adminAddress,
    metrics,
    logger,
    config: () => applied.current,
    controlPlane: () => client.status,
    unready: () =>
      [
        ...(credentials ? [credentials.unready()] : ['no identity yet: attesting']),
        ...(applied.current ? [] : [`no config applied: ${sync?.problem ?? 'not synced yet'}`]),
        plane?.unready(),
      ].filter((r): r is string => r !== undefined),
    notify: () =>
      credentials &&
      sync &&
      ((body, type) =>
        handleNotify(body, type, { credentials: credentials!, applied, sync: sync!, logger, metrics })),
  });
  try {
    await restoreLastKnownGood({ files, gateway, applied, metrics, logger });
    const identity = await bootstrapIdentity({
      client,
      files,
      gateway,
      joinToken: o.joinToken,
      ...(o.attestation === 'aws-iam' && {
        awsIam: { ...o.aws, audience: attestationAudience(o.trustDomain!) },
      }),
      logger,
      now: o.now,
      ...(o.signal && { signal: o.signal }),
    });
    credentials = new AgentCredentials(identity, { client, files, gateway, logger, metrics, now: o.now });
    sync = new ConfigSync({
      client,
      credentials,
      applied,
      files,
      gateway,
      logger,
      metrics,
      pollIntervalMs: o.pollIntervalMs,
    });
    credentials.onChange(() => sync?.reportSoon());
    credentials.start();
    sync.start();
    // With a last-known-good config this listens now, before the control plane answers.
    await plane?.attach(credentials);
  } catch (error) {
    client.close();
    await sync?.close();
    await credentials?.close();
    await plane?.close();
    await admin.close();
    access?.close();
    throw error;
  }
  logger.info(
    {
      adminAddress: admin.address,
      spiffeId: credentials.spiffeId,
      version: applied.current?.snapshot.version ?? null,
      controlPlane: client.status.current,
      ...(plane?.addresses && {
        ingressAddress: plane.addresses.ingress,
        egressAddress: plane.addresses.egress,
      }),
    },
    'ready',
  );
  const [creds, syncing] = [credentials, sync];
  return {
    adminAddress: admin.address,
    spiffeId: creds.spiffeId,
    config: applied,
    credentials: creds,
    sync: syncing,
    metrics,
    get controlPlane() {
      return client.status;
    },
    get dataPlaneAddresses() {
      return plane?.addresses;
    },
    async close() {
      // Traffic first: calls in flight finish (up to 5 s) while nothing new is taken.
      await plane?.close();
      access?.close();
      client.close();
      await syncing.close();
      await creds.close();
      await admin.close();
      logger.info('stopped');
    },
  };
}
