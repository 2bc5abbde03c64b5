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
import type { EgressService, RouteRule, SnapshotEnvironment } from '../../../shared/contract/snapshot.js';
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

/** Can `env` take an attempt at all: the service is there, a gateway is listed, it is not ejected? */
function usable(input: ChooseEnvironmentInput, env: string): boolean {
  return (
    input.service.environments.includes(env) &&
    (input.environments.get(env)?.gateways.length ?? 0) > 0 &&
    !input.isEjected(env)
  );
}

function firstUsable(
  input: ChooseEnvironmentInput,
  order: readonly string[],
  avoid: ReadonlySet<string>,
): string | undefined {
  for (const env of order) if (!avoid.has(env) && usable(input, env)) return env;
  return undefined;
}

function pass(input: ChooseEnvironmentInput, avoid: ReadonlySet<string>): string | undefined {
  const { rule } = input;
  if (!rule) return firstUsable(input, input.defaultOrder, avoid);
  const drawn = pickWeighted(
    rule.backends.filter((b) => !avoid.has(b.environment) && usable(input, b.environment)),
    input.random,
  );
  return drawn?.environment ?? firstUsable(input, rule.failover, avoid);
}

/**
 * The environment for the next attempt, or `undefined` when none is usable
 * (503). Module-level helpers rather than closures: this runs on every call,
 * and each closure made per call also paid tsx's `keepNames` (issue 5).
 */
export function chooseEnvironment(input: ChooseEnvironmentInput): string | undefined {
  const tried = input.tried ?? EMPTY;
  return pass(input, tried) ?? (tried.size > 0 ? pass(input, EMPTY) : undefined);
}

const EMPTY: ReadonlySet<string> = new Set();
