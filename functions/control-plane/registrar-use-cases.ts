/**
 * The cloud-agnostic halves of the `registrar` and `reconcile` functions
 * every cloud deploys: the core registrar over the control plane (its
 * `ResourceWriter`, so every write is published like the API's; its state
 * store, to find the Workloads it owns; its blob store, for the status
 * document), and what one event or one scheduled run does with it. Each
 * cloud's handler parses its native event into resource ids, reads them
 * with its `CloudResources`, and calls these.
 *
 * @module
 */
import type { ApiLogger } from '../../shared/api/create-api.js';
import { DNS1123_LABEL } from '../../shared/model/names.js';
import type { Provider } from '../../shared/model/specs.js';
import type { ObservedResource } from '../../shared/registration/observed-resource.js';
import {
  type CloudResources,
  Registrar,
  type RegistrationAction,
  type RegistrationReport,
  type WorkloadLister,
} from '../../shared/registration/registrar.js';
import type { BlobStore } from '../../shared/storage/blob-store.js';
import type { ControlPlane } from './compose-control-plane.js';
import type { EnvConfig } from './startup.js';

/** What the handlers run on: built once per cold start. */
export interface RegistrarDeps {
  readonly registrar: Registrar;
  readonly resources: CloudResources;
  /** @default silent */
  readonly logger?: ApiLogger;
}

export type RegistrarGetter = () => RegistrarDeps | Promise<RegistrarDeps>;

/** What one invocation did. */
export interface RegistrarOutcome {
  /** The resources the event named (or the reconcile found), read again. */
  readonly resources: readonly string[];
  readonly counts: Readonly<Record<RegistrationAction, number>> | Record<string, never>;
}

/** The deps themselves, or the getter that builds them. */
export function registrarGetter(deps: RegistrarDeps | RegistrarGetter): RegistrarGetter {
  return typeof deps === 'function' ? deps : () => deps;
}

/** Hands freshly read resources to the registrar. @throws what the store or writer threw (retry the event). */
export async function observeResources(
  deps: RegistrarDeps,
  resources: readonly ObservedResource[],
): Promise<RegistrarOutcome> {
  const report = await deps.registrar.observe(resources);
  return outcomeOf(
    resources.map((r) => r.id),
    report,
  );
}

/** Lists every tagged resource and repairs what events missed. */
export async function reconcileResources(deps: RegistrarDeps): Promise<RegistrarOutcome> {
  const report = await deps.registrar.reconcile(deps.resources);
  return outcomeOf(
    report.outcomes.map((o) => o.resource),
    report,
  );
}

/** The outcome of an event about nothing the registrar reads: logged, and skipped. */
export function skipped(
  deps: RegistrarDeps,
  msg: string,
  fields: Record<string, unknown> = {},
): RegistrarOutcome {
  deps.logger?.info({ msg, ...fields });
  return { resources: [], counts: {} };
}

function outcomeOf(resources: readonly string[], report: RegistrationReport): RegistrarOutcome {
  return { resources, counts: report.counts };
}

/**
 * `WEFT_DEFAULT_ENVIRONMENT`: the Environment of a resource without an
 * environment tag (default none: that tag is required). Problems go to `config`.
 */
export function readDefaultEnvironment(config: EnvConfig): string | undefined {
  const defaultEnvironment = config.optional('WEFT_DEFAULT_ENVIRONMENT');
  if (defaultEnvironment !== undefined && !DNS1123_LABEL.test(defaultEnvironment))
    config.invalid(
      'WEFT_DEFAULT_ENVIRONMENT',
      `must name an Environment (a DNS label), got ${JSON.stringify(defaultEnvironment)}`,
    );
  return defaultEnvironment;
}

/** What the registrar needs that the environment does not say. */
export interface RegistrarPorts {
  /** The control plane whose `resources` writer registers Workloads. */
  readonly plane: ControlPlane | Promise<ControlPlane>;
  /** Where the Workloads the registrar owns are listed from. @default the plane's state store */
  readonly workloads?: WorkloadLister;
  /** Where the status document is kept. @default the plane's blob store (none: counts are only logged) */
  readonly blobs?: BlobStore;
}

/**
 * The core registrar of `provider` over the plane `ports` name, its tag keys
 * under `prefix`.
 *
 * @example
 * const registrar = await registrarOver('gcp', 'weft-', { plane }, { defaultEnvironment: 'gcp', logger });
 */
export async function registrarOver(
  provider: Provider,
  prefix: string,
  ports: RegistrarPorts,
  options: { readonly defaultEnvironment?: string | undefined; readonly logger: ApiLogger },
): Promise<Registrar> {
  const plane = await ports.plane;
  const blobs = ports.blobs ?? plane.blobs;
  return new Registrar({
    provider,
    writer: plane.resources,
    workloads: ports.workloads ?? plane.store,
    ...(blobs && { blobs }),
    tags: { prefix, ...(options.defaultEnvironment && { defaultEnvironment: options.defaultEnvironment }) },
    logger: options.logger,
  });
}
