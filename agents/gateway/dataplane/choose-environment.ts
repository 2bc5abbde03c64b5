/**
 * Which environment's gateway gets an attempt. Pure: the ejection state and
 * the random source come in. An environment is usable when the service has
 * endpoints there, the snapshot lists a gateway for it and it is not
 * ejected. With a Route rule: a weighted draw among usable backends, then
 * the rule's failover list in order. Without one: the local environment
 * first, then the others by priority. Environments already tried by this
 * call are avoided while another is usable (Envoy's `previous_hosts`).
 *
 * @module
 */
import type { EgressService, RouteRule, SnapshotEnvironment } from '../../../shared/config/snapshot.js';
import { pickWeighted, type Random } from './weighted.js';

/** Everything {@link chooseEnvironment} looks at. */
export interface ChooseEnvironmentInput {
  readonly service: EgressService;
  /** The matched rule; `undefined` when the service has no Route. */
  readonly rule: RouteRule | undefined;
  /** Order of preference without a Route: see {@link defaultEnvironmentOrder}. */
  readonly defaultOrder: readonly string[];
  readonly environments: ReadonlyMap<string, SnapshotEnvironment>;
  readonly isEjected: (environment: string) => boolean;
  /** Environments this call already tried. */
  readonly tried?: ReadonlySet<string>;
  readonly random: Random;
}

/** The service's environments, own first, then by priority (lower first), then by name. */
export function defaultEnvironmentOrder(
  service: EgressService,
  own: string,
  environments: ReadonlyMap<string, SnapshotEnvironment>,
): string[] {
  const priority = (env: string) => (env === own ? -1 : (environments.get(env)?.priority ?? 100));
  return [...service.environments].sort((a, b) => priority(a) - priority(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/** The environment for the next attempt, or `undefined` when none is usable (503). */
export function chooseEnvironment(input: ChooseEnvironmentInput): string | undefined {
  const { service, rule, environments, isEjected, random } = input;
  const usable = (env: string) =>
    service.environments.includes(env) &&
    (environments.get(env)?.gateways.length ?? 0) > 0 &&
    !isEjected(env);
  const pass = (avoid: ReadonlySet<string>): string | undefined => {
    const ok = (env: string) => !avoid.has(env) && usable(env);
    if (!rule) return input.defaultOrder.find(ok);
    const drawn = pickWeighted(
      rule.backends.filter((b) => ok(b.environment)),
      random,
    );
    return drawn?.environment ?? rule.failover.find(ok);
  };
  const tried = input.tried ?? EMPTY;
  return pass(tried) ?? (tried.size > 0 ? pass(EMPTY) : undefined);
}

const EMPTY: ReadonlySet<string> = new Set();
