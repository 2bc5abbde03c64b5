/**
 * The control planes of a mesh with one per cloud, behind one
 * {@link ControlPlaneApi}: every call goes to the current control plane
 * (home at start); when it is unavailable (`ControlPlaneUnavailableError`:
 * not reachable, timed out, 5xx, 429, or an answer that is not the API's)
 * the same call goes to the next one in the configured order, and the first
 * that answers becomes current. A refusal (`ControlPlaneRefusedError`, 4xx)
 * is not failed over: that control plane answered, and another holding the
 * same replicated state and trust would say the same. Away from home it
 * probes home (`GET /healthz`, no credentials) before a call once the probe
 * interval (±50 %) has passed, and goes back as soon as home answers. Each
 * switch is logged once (URLs without userinfo, never a token).
 *
 * What fails over: snapshot fetch, status report, X.509-SVID renewal and
 * JWT-SVID issuance. Every one of them can be repeated safely at another
 * cloud: they are reads, idempotent writes, or issuance proven by the
 * current SVID, which any cloud of the federated bundle verifies.
 *
 * What stays home: attestation with a join token. A join token is
 * one-time, and "spent once" holds only in the store that minted it (join
 * tokens are not replicated state); trying it at a peer would be refused at
 * best, and a double spend at worst. Bootstrap retries home with backoff
 * until it answers. A restart with a valid SVID on disk never attests, so
 * only the very first start needs home.
 *
 * @module
 */
import type { Random } from '../../shared/model/backoff.js';
import type {
  AttestationEvidence,
  ControlPlaneApi,
  GatewayPath,
  IssuedJwtSvid,
  IssuedSvid,
  SnapshotAnswer,
  StatusReport,
} from './control-plane-client.js';
import { ControlPlaneUnavailableError } from './errors.js';
import { type Logger, reason } from './log.js';

/** How often, away from home, home is probed: jittered ±50 %, so every 10 to 30 s. */
export const DEFAULT_HOME_PROBE_INTERVAL_MS = 20_000;

/** One control plane as the failover client needs it: the API, plus a cheap liveness probe. */
export interface ProbedControlPlane extends ControlPlaneApi {
  /** @throws ControlPlaneUnavailableError unless the control plane answers. */
  probe(): Promise<void>;
}

/** One control plane of the list, by its URL. */
export interface ControlPlaneTarget {
  readonly url: string;
  readonly client: ProbedControlPlane;
}

/** Which control plane the agent talks to, for `/healthz` and metrics. */
export interface ControlPlaneStatus {
  /** URL of the control plane calls go to now (no userinfo). */
  readonly current: string;
  readonly home: string;
  readonly atHome: boolean;
  /** Every control plane, home first. */
  readonly all: readonly string[];
}

/** Options of {@link FailoverClient}. */
export interface FailoverClientOptions {
  /** Home first, then the others in the order they are tried. At least one. */
  readonly planes: readonly ControlPlaneTarget[];
  readonly logger: Logger;
  /** @default 20_000, jittered ±50 % */
  readonly homeProbeIntervalMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default Math.random */
  readonly random?: Random;
  /** Called after every switch (metrics). */
  readonly onSwitch?: (status: ControlPlaneStatus) => void;
}

/** Several control planes as one: home first, failing over on outages only. */
export class FailoverClient implements ControlPlaneApi {
  readonly #planes: readonly ControlPlaneTarget[];
  readonly #names: readonly string[];
  readonly #o: FailoverClientOptions;
  readonly #now: () => number;
  readonly #random: Random;
  readonly #probeMs: number;
  #current = 0;
  #probeAt = 0;
  #probing: Promise<void> | undefined;

  constructor(options: FailoverClientOptions) {
    if (options.planes.length === 0) throw new TypeError('at least one control plane is needed');
    this.#o = options;
    this.#planes = options.planes;
    this.#names = options.planes.map((p) => displayUrl(p.url));
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#probeMs = options.homeProbeIntervalMs ?? DEFAULT_HOME_PROBE_INTERVAL_MS;
    if (!(this.#probeMs > 0)) throw new TypeError('the home probe interval must be positive');
  }

  /** Which control plane is current. */
  get status(): ControlPlaneStatus {
    return {
      current: this.#names[this.#current]!,
      home: this.#names[0]!,
      atHome: this.#current === 0,
      all: this.#names,
    };
  }

  /** Home only: a join token is spent in the store that minted it (see the module notes). */
  attest(evidence: AttestationEvidence, csr: string): Promise<IssuedSvid> {
    return this.#planes[0]!.client.attest(evidence, csr);
  }

  renewX509(csr: string, proof: string): Promise<IssuedSvid> {
    return this.#call((c) => c.renewX509(csr, proof));
  }

  jwtSvid(audience: string, proof: string): Promise<IssuedJwtSvid> {
    return this.#call((c) => c.jwtSvid(audience, proof));
  }

  fetchSnapshot(gateway: GatewayPath, bearer: string, hash?: string): Promise<SnapshotAnswer> {
    return this.#call((c) => c.fetchSnapshot(gateway, bearer, hash));
  }

  reportStatus(gateway: GatewayPath, bearer: string, report: StatusReport): Promise<void> {
    return this.#call((c) => c.reportStatus(gateway, bearer, report));
  }

  close(): void {
    for (const plane of this.#planes) plane.client.close();
  }

  /** The current control plane, then each next one in order, until one answers. */
  async #call<T>(run: (client: ControlPlaneApi) => Promise<T>): Promise<T> {
    await this.#maybeGoHome();
    const start = this.#current;
    const failures: string[] = [];
    const errors: unknown[] = [];
    for (let step = 0; step < this.#planes.length; step++) {
      const at = (start + step) % this.#planes.length;
      try {
        const result = await run(this.#planes[at]!.client);
        if (at !== start) this.#switchTo(at, `${this.#names[start]} unreachable`);
        return result;
      } catch (error) {
        if (!(error instanceof ControlPlaneUnavailableError)) throw error;
        failures.push(`${this.#names[at]}: ${reason(error)}`);
        errors.push(error);
      }
    }
    if (this.#planes.length === 1) throw errors[0];
    throw new ControlPlaneUnavailableError(`no control plane answered (${failures.join('; ')})`, {
      cause: new AggregateError(errors),
    });
  }

  /** Away from home and the probe is due: back home if home answers `/healthz`. */
  async #maybeGoHome(): Promise<void> {
    if (this.#current === 0 || this.#now() < this.#probeAt) return;
    this.#probing ??= this.#planes[0]!.client.probe().then(
      () => {
        if (this.#current !== 0) this.#switchTo(0, 'home answers again');
      },
      (error: unknown) => {
        this.#scheduleProbe();
        this.#o.logger.debug({ home: this.#names[0], why: reason(error) }, 'home control plane still down');
      },
    );
    const probing = this.#probing;
    await probing;
    if (this.#probing === probing) this.#probing = undefined;
  }

  #switchTo(at: number, why: string): void {
    if (at === this.#current) return; // another call got there first, and said so
    const from = this.#names[this.#current];
    this.#current = at;
    const to = this.#names[at];
    if (at === 0) this.#o.logger.info({ controlPlane: to, from, why }, `back home at ${to}`);
    else {
      this.#scheduleProbe();
      this.#o.logger.warn({ controlPlane: to, from, why }, `control plane ${from} unreachable, using ${to}`);
    }
    this.#o.onSwitch?.(this.status);
  }

  #scheduleProbe(): void {
    this.#probeAt = this.#now() + Math.round(this.#probeMs * (0.5 + this.#random()));
  }
}

/** A URL as it may be logged and exported: no userinfo, no trailing slash. */
export function displayUrl(url: string): string {
  const parsed = new URL(url);
  parsed.username = '';
  parsed.password = '';
  return parsed.toString().replace(/\/+$/, '');
}
