/**
 * Config sync (DESIGN.md §4 step 5, docs/distribution.md): fetch this
 * gateway's signed snapshot with `If-None-Match`, verify it (signature
 * against the trust bundle, addressed to this gateway, version moving
 * forward, hash right), swap it in, keep it on disk as last-known-good,
 * report `applied vN`. It polls every 30 s ±20 %, and {@link ConfigSync.trigger}
 * (the webhook) fetches at once. A refused snapshot is counted and logged
 * with its reason and the applied one stays; an unreachable control plane
 * is retried with capped backoff and the applied config stays. Nothing here
 * ever removes the applied config.
 *
 * @module
 */
import { SnapshotRefusedError } from '../../shared/contract/signed-jws.js';
import { verifySnapshot } from '../../shared/contract/signed-snapshot.js';
import type { ParsedBundle } from '../../shared/identity/bundle.js';
import type { Random } from '../../shared/model/backoff.js';
import type { AppliedConfig } from './applied-config.js';
import type { ControlPlaneApi, GatewayPath } from './control-plane-client.js';
import type { DataFiles } from './data-files.js';
import { ControlPlaneRefusedError } from './errors.js';
import { saveLastKnownGood } from './last-known-good.js';
import { type Logger, reason } from './log.js';
import type { AgentMetrics } from './metrics.js';
import { PollLoop } from './poll-loop.js';
import { type StatusCredentials, StatusReporter } from './status-reporter.js';

/** How one sync ended. `none`: nothing compiled for this gateway yet; `failed`: no answer to act on. */
export type SyncResult = 'applied' | 'refused' | 'unchanged' | 'none' | 'failed';

/** What config sync needs from the credentials (`AgentCredentials` is one). */
export interface SyncCredentials extends StatusCredentials {
  readonly spiffeId: string;
  readonly bundle: ParsedBundle;
  invalidateControlPlaneToken(): void;
  offerBundle(bundle: unknown, source: string): Promise<boolean>;
}

/** Options of {@link ConfigSync}. */
export interface ConfigSyncOptions {
  readonly client: ControlPlaneApi;
  readonly credentials: SyncCredentials;
  readonly applied: AppliedConfig;
  readonly files: DataFiles;
  readonly gateway: GatewayPath;
  readonly logger: Logger;
  readonly metrics: AgentMetrics;
  /** @default 30_000, jittered ±20 % */
  readonly pollIntervalMs?: number;
  readonly random?: Random;
}

/** Keeps the applied config in step with the control plane. */
export class ConfigSync {
  readonly #o: ConfigSyncOptions;
  readonly #loop: PollLoop;
  readonly #status: StatusReporter;
  #refused = 0;
  #problem: string | undefined = 'no snapshot fetched yet';
  #closed = false;

  constructor(options: ConfigSyncOptions) {
    this.#o = options;
    this.#loop = new PollLoop({
      run: async () => (await this.syncOnce()) !== 'failed',
      intervalMs: options.pollIntervalMs ?? 30_000,
      ...(options.random && { random: options.random }),
    });
    const { client, credentials, gateway, logger, applied } = options;
    const refused = () => this.#refused;
    this.#status = new StatusReporter({ client, credentials, gateway, logger, applied, refused });
  }

  /** Snapshots refused since start. */
  get refused(): number {
    return this.#refused;
  }

  /** Why the latest sync did not reach the control plane or found nothing, or `undefined`. */
  get problem(): string | undefined {
    return this.#problem;
  }

  /** Starts polling, with a first fetch now. */
  start(): void {
    void this.trigger('start');
  }

  /** Fetches now (the webhook, start-up); a fetch under way is followed by one more. */
  trigger(why: string): Promise<void> {
    this.#o.logger.debug({ why }, 'config sync triggered');
    return this.#loop.trigger();
  }

  /** Also tell the control plane at the next chance (the X.509-SVID expiry it shows changed). */
  reportSoon(): void {
    this.#status.pending = true;
  }

  /** Stops polling; a fetch under way finishes (the client's `close` cuts it short). */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#loop.close();
  }

  /** One fetch and what follows from it. Never throws: the outcome is logged and returned. */
  async syncOnce(): Promise<SyncResult> {
    const { client, credentials, applied, gateway, logger, metrics } = this.#o;
    const current = applied.current?.snapshot;
    try {
      const bearer = await credentials.controlPlaneToken();
      const answer = await client.fetchSnapshot(gateway, bearer, current?.hash);
      metrics.controlPlaneAnswered(Date.now());
      let result: SyncResult;
      if (answer.kind === 'none') {
        if (this.#problem !== answer.detail)
          logger.info({ detail: answer.detail }, 'no snapshot for this gateway yet');
        this.#problem = answer.detail;
        result = 'none';
      } else {
        this.#problem = undefined;
        result = answer.kind === 'not-modified' ? 'unchanged' : await this.#consider(answer.jws);
        if (result === 'unchanged') metrics.countApply('unchanged');
      }
      await this.#status.reportIfPending();
      return result;
    } catch (error) {
      if (this.#closed) return 'failed'; // cut short by shutdown: nothing to tell
      if (error instanceof ControlPlaneRefusedError && error.status === 401)
        credentials.invalidateControlPlaneToken();
      this.#problem = `control plane: ${reason(error)}`;
      const level = error instanceof ControlPlaneRefusedError ? 'error' : 'warn';
      logger[level](
        { why: reason(error), applied: current?.version ?? null },
        'config sync failed; the applied config stays',
      );
      return 'failed';
    }
  }

  /** Verifies a fetched snapshot and applies it, or refuses it. */
  async #consider(jws: string): Promise<SyncResult> {
    const { credentials, applied, files, logger, metrics } = this.#o;
    const current = applied.current?.snapshot;
    let snapshot: Awaited<ReturnType<typeof verifySnapshot>>;
    try {
      snapshot = await verifySnapshot(jws, credentials.bundle, {
        expectedSpiffeId: credentials.spiffeId,
        ...(current && { appliedVersion: current.version, appliedHash: current.hash }),
      });
    } catch (error) {
      if (!(error instanceof SnapshotRefusedError)) throw error;
      if (error.unchanged) return 'unchanged';
      this.#refused += 1;
      this.#status.pending = true;
      metrics.countApply('refused');
      logger.warn(
        { reason: error.reason, why: error.message, applied: current?.version ?? null },
        'snapshot refused; the applied config stays',
      );
      return 'refused';
    }
    applied.swap({ snapshot, jws, source: 'control-plane', appliedAt: new Date() }, (e) =>
      logger.error({ why: reason(e) }, 'a config subscriber failed'),
    );
    metrics.configApplied(snapshot.version, snapshot.hash);
    metrics.countApply('applied');
    this.#status.pending = true;
    logger.info(
      { version: snapshot.version, hash: snapshot.hash, previous: current?.version ?? null },
      'config applied',
    );
    await saveLastKnownGood(files, jws).catch((e: unknown) =>
      logger.error({ why: reason(e) }, 'could not save the last-known-good config; serving it anyway'),
    );
    // Signed by a key already trusted, so it may carry the next keys in (JWT key rotation).
    await credentials.offerBundle(snapshot.bundle, `snapshot ${snapshot.version}`);
    return 'applied';
  }
}
