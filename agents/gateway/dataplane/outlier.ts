/**
 * Passive outlier detection (Envoy's `outlier_detection`, consecutive
 * errors only): per service and destination environment, `consecutiveErrors`
 * failures in a row (5xx answers, connect failures, resets, timeouts) eject
 * the environment for `baseEjectionMs`, doubled on every repeat and capped;
 * the multiplier decays by one for each base period spent healthy. At most
 * `maxEjectionPercent` of a service's environments are out at once, though
 * one may always go when the percent is positive (as Envoy does), so a
 * two-environment service can fail over. Ejections end lazily, by the clock.
 *
 * @module
 */
import type { OutlierDetection } from '../../../shared/contract/snapshot.js';
import { MAX_EJECTION_MS } from '../../../shared/model/duration-ranges.js';

/** Doubling stops at MAX_EJECTION_MS (Envoy's `max_ejection_time` default), the longest `baseEjectionTime` too. */
export { MAX_EJECTION_MS };

interface HostState {
  consecutive: number;
  ejectedUntil: number;
  /** Ejections so far, decayed: the exponent of the next duration. */
  ejections: number;
}

/** Ejection state of every (service, environment) the egress has called. */
export class OutlierDetector {
  readonly #now: () => number;
  readonly #services = new Map<string, Map<string, HostState>>();
  readonly #tests = new Map<string, (environment: string) => boolean>();

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  /** Is `environment` out of rotation for `service` right now? */
  isEjected(service: string, environment: string): boolean {
    const host = this.#services.get(service)?.get(environment);
    return host !== undefined && host.ejectedUntil > this.#now();
  }

  /** {@link isEjected} for one service, as a predicate made once (the egress asks on every call). */
  ejectedIn(service: string): (environment: string) => boolean {
    let test = this.#tests.get(service);
    if (!test) {
      test = (environment) => this.isEjected(service, environment);
      this.#tests.set(service, test);
    }
    return test;
  }

  /** The environments of `service` ejected right now. */
  ejected(service: string): string[] {
    const now = this.#now();
    return [...(this.#services.get(service) ?? [])].filter(([, h]) => h.ejectedUntil > now).map(([e]) => e);
  }

  /** A good answer (any status below 500): the error streak ends. */
  recordSuccess(service: string, environment: string): void {
    const host = this.#services.get(service)?.get(environment);
    if (host) host.consecutive = 0;
  }

  /**
   * A failed attempt. `total` is how many environments serve the service,
   * for the ejection cap. Failures landing while ejected (calls that were
   * already in flight) do not extend the ejection.
   *
   * @returns how long this failure ejected the environment for, in ms; 0 when it did not.
   */
  recordFailure(service: string, environment: string, config: OutlierDetection, total: number): number {
    const now = this.#now();
    const hosts = this.#services.get(service) ?? new Map<string, HostState>();
    this.#services.set(service, hosts);
    const host = hosts.get(environment) ?? { consecutive: 0, ejectedUntil: 0, ejections: 0 };
    hosts.set(environment, host);
    if (host.ejectedUntil > now) return 0;
    host.consecutive += 1;
    if (host.consecutive < config.consecutiveErrors) return 0;
    const out = this.ejected(service).length;
    const allowed =
      config.maxEjectionPercent > 0 &&
      (out === 0 || (out + 1) * 100 <= config.maxEjectionPercent * Math.max(total, 1));
    if (!allowed) return 0;
    const base = Math.max(config.baseEjectionMs, 1);
    const healthyFor = host.ejectedUntil === 0 ? 0 : now - host.ejectedUntil;
    host.ejections = Math.max(0, host.ejections - Math.floor(healthyFor / base)) + 1;
    const duration = Math.min(base * 2 ** (host.ejections - 1), Math.max(MAX_EJECTION_MS, base));
    host.ejectedUntil = now + duration;
    host.consecutive = 0;
    return duration;
  }

  /** Forgets services no longer in the snapshot. */
  retain(services: ReadonlySet<string>): void {
    for (const key of this.#services.keys()) if (!services.has(key)) this.#services.delete(key);
    for (const key of this.#tests.keys()) if (!services.has(key)) this.#tests.delete(key);
  }
}
