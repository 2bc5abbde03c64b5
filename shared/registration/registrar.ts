/**
 * The registrar: turns what a cloud says about its tagged resources into
 * `Workload` writes (docs/registration.md). Cloud-agnostic: a cloud edge
 * reads its resources into {@link ObservedResource}s (the `CloudResources`
 * port) and calls {@link Registrar.observe} on an event or
 * {@link Registrar.reconcile} on a schedule.
 *
 * - present + not stored → put; stored and equal → nothing written;
 * - absent (untagged, stopped, gone) → the registrar's own Workload is deleted;
 * - a Workload of that name the registrar did not make (no origin label, or
 *   another resource's) is never written or deleted: a conflict, reported;
 * - bad tags, a missing Service, a put the API would refuse: reported (one
 *   JSON log line each, counted in the status document), never thrown.
 *
 * @module
 */
import type { ApiLogger } from '../api/create-api.js';
import { ValidationError, type WeftError } from '../model/errors.js';
import type { ResourceKey } from '../model/kinds.js';
import { canonicalJson } from '../model/resource.js';
import type { Provider } from '../model/specs.js';
import type { BlobStore } from '../storage/blob-store.js';
import type { StoredRecord } from '../storage/state-store.js';
import {
  type DesiredWorkload,
  desiredWorkload,
  type ObservedResource,
  REGISTERED_BY,
  RESOURCE_ANNOTATION,
  registeredBy,
  type WorkloadDocument,
} from './observed-resource.js';
import type {
  CloudResources,
  RegistrationAction,
  RegistrationOutcome,
  RegistrationReport,
  WorkloadLister,
  WorkloadWriter,
} from './registration-ports.js';
import {
  type RegistrationEntry,
  type RegistrationProblem,
  type RegistrationTotals,
  recordRegistration,
} from './registration-status.js';
import { checkTagSchemaOptions, type TagSchemaOptions } from './tag-schema.js';

export type {
  CloudResources,
  RegistrationAction,
  RegistrationOutcome,
  RegistrationReport,
  WorkloadLister,
  WorkloadWriter,
} from './registration-ports.js';

export interface RegistrarOptions {
  readonly provider: Provider;
  readonly writer: WorkloadWriter;
  readonly workloads: WorkloadLister;
  /** Where the status document lives. @default none: counts are only logged */
  readonly blobs?: BlobStore;
  /** Key spelling and the default environment. */
  readonly tags?: TagSchemaOptions;
  /** @default silent */
  readonly logger?: ApiLogger;
  /** @default Date.now */
  readonly now?: () => number;
}

const SILENT: ApiLogger = { info() {}, error() {} };
const ACTIONS: readonly RegistrationAction[] = [
  'registered',
  'updated',
  'unchanged',
  'removed',
  'rejected',
  'conflict',
  'ignored',
  'failed',
];

export class Registrar {
  readonly provider: Provider;
  readonly #options: RegistrarOptions;
  readonly #logger: ApiLogger;
  readonly #origin: string;

  /** @throws TypeError when the tag options are malformed (start-up configuration). */
  constructor(options: RegistrarOptions) {
    checkTagSchemaOptions(options.tags ?? {});
    this.provider = options.provider;
    this.#options = options;
    this.#logger = options.logger ?? SILENT;
    this.#origin = registeredBy(options.provider);
  }

  /**
   * Brings the Workloads of `resources` (as just read from the cloud) in
   * line with them. Bad tags and conflicts are reported, not thrown.
   *
   * @throws what the store or writer threw for a resource (unavailable,
   *   say), after the others were handled and counted: retry the event.
   */
  async observe(resources: readonly ObservedResource[]): Promise<RegistrationReport> {
    const owned = await this.#owned();
    const outcomes: RegistrationOutcome[] = [];
    let failure: unknown;
    for (const resource of resources) {
      const outcome = await this.#apply(resource, owned).catch((error) => {
        failure ??= error;
        return this.#failed(resource, error);
      });
      outcomes.push(outcome);
    }
    const report = await this.#finish(outcomes);
    if (failure !== undefined) throw failure;
    return report;
  }

  /**
   * Repairs what events missed: every tagged resource the cloud lists is
   * observed, and every Workload this registrar owns whose resource was not
   * listed is looked up again (gone or untagged: deleted). Never throws for
   * one resource; the next reconcile tries again.
   */
  async reconcile(cloud: CloudResources): Promise<RegistrationReport> {
    // Owned first: a Workload an event registers after this read is never mistaken for an orphan.
    const owned = await this.#owned();
    const listed = await cloud.listTagged();
    const seen = new Set(listed.map((r) => r.id));
    const orphans = [...new Set(owned.map(resourceOf).filter((id): id is string => !!id && !seen.has(id)))];
    const described = orphans.length > 0 ? await cloud.describe(orphans) : [];
    const outcomes: RegistrationOutcome[] = [];
    for (const resource of [...listed, ...described]) {
      outcomes.push(await this.#apply(resource, owned).catch((error) => this.#failed(resource, error)));
    }
    const puts = outcomes.filter((o) => o.action === 'registered' || o.action === 'updated').length;
    const deletes = outcomes.filter((o) => o.action === 'removed').length;
    this.#logger.info({
      msg: 'registration reconciled',
      provider: this.provider,
      resources: listed.length,
      puts,
      deletes,
    });
    return this.#finish(outcomes, { resources: listed.length, puts, deletes });
  }

  async #owned(): Promise<StoredRecord[]> {
    return this.#options.workloads.list('Workload', {
      selector: [{ key: REGISTERED_BY, op: 'eq', value: this.#origin }],
    });
  }

  async #apply(resource: ObservedResource, owned: readonly StoredRecord[]): Promise<RegistrationOutcome> {
    const desired = desiredWorkload(resource, this.#options.tags);
    // Registered before in another namespace (the namespace tag changed), or now absent.
    const mine = owned.filter((r) => resourceOf(r) === resource.id);
    if (desired.kind === 'invalid') return this.#reject(resource, desired.reasons);
    if (desired.kind === 'absent') return this.#remove(resource, mine, desired);
    const { document } = desired;
    const key: ResourceKey = {
      kind: 'Workload',
      namespace: document.metadata.namespace,
      name: document.metadata.name,
    };
    const { writer } = this.#options;
    const service = await writer.get({
      kind: 'Service',
      namespace: key.namespace,
      name: desired.tags.service,
    });
    if (!service) {
      return this.#reject(resource, [`Service ${key.namespace}/${desired.tags.service} does not exist`], key);
    }
    const current = await writer.get(key);
    if (current?.resource && !this.#isMine(current, resource.id))
      return this.#conflict(resource, key, current);
    const stale = mine.filter((r) => r.key.namespace !== key.namespace || r.key.name !== key.name);
    let action: RegistrationAction = 'unchanged';
    if (!current?.resource || !sameDocument(current.resource, document)) {
      try {
        await writer.put(document);
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        return this.#reject(
          resource,
          error.issues.length > 0 ? error.issues.map((i) => `${i.pointer}: ${i.detail}`) : [error.message],
          key,
        );
      }
      action = current?.resource ? 'updated' : 'registered';
      this.#log('info', action, resource, key);
    }
    for (const old of stale) await this.#delete(resource, old.key);
    return { resource: resource.id, action, workload: id(key) };
  }

  async #remove(
    resource: ObservedResource,
    mine: readonly StoredRecord[],
    desired: Extract<DesiredWorkload, { kind: 'absent' }>,
  ): Promise<RegistrationOutcome> {
    const removed: ResourceKey[] = [];
    for (const record of mine)
      if (await this.#delete(resource, record.key, desired.reason)) removed.push(record.key);
    if (removed.length === 0) return { resource: resource.id, action: 'ignored', reasons: [desired.reason] };
    return { resource: resource.id, action: 'removed', workload: id(removed[0]!), reasons: [desired.reason] };
  }

  /** Deletes the Workload at `key` if it is still this resource's registration; says whether it did. */
  async #delete(resource: ObservedResource, key: ResourceKey, reason?: string): Promise<boolean> {
    // Read again: an operator may have taken the name over since the list.
    const current = await this.#options.writer.get(key);
    if (!current?.resource || !this.#isMine(current, resource.id)) return false;
    try {
      await this.#options.writer.delete(key);
    } catch (error) {
      if ((error as WeftError).code !== 'ERR_NOT_FOUND') throw error;
      return false;
    }
    this.#log('info', 'removed', resource, key, reason ? [reason] : undefined);
    return true;
  }

  #isMine(record: StoredRecord, resourceId: string): boolean {
    const meta = record.resource?.metadata;
    return (
      meta?.labels?.[REGISTERED_BY] === this.#origin && meta.annotations?.[RESOURCE_ANNOTATION] === resourceId
    );
  }

  #reject(resource: ObservedResource, reasons: readonly string[], key?: ResourceKey): RegistrationOutcome {
    this.#log('warn', 'rejected', resource, key, reasons);
    return { resource: resource.id, action: 'rejected', reasons, ...(key && { workload: id(key) }) };
  }

  #conflict(resource: ObservedResource, key: ResourceKey, current: StoredRecord): RegistrationOutcome {
    const owner = current.resource?.metadata.labels?.[REGISTERED_BY];
    const other = resourceOf(current) ?? 'an unnamed resource';
    const reason =
      owner === this.#origin
        ? `Workload ${id(key)} is registered for another resource, ${other}; it is left alone`
        : `Workload ${id(key)} exists and was not made by the ${this.#origin} registrar (${REGISTERED_BY}: ${owner ?? 'absent'}); it is left alone`;
    this.#log('warn', 'conflict', resource, key, [reason]);
    return { resource: resource.id, action: 'conflict', workload: id(key), reasons: [reason] };
  }

  #failed(resource: ObservedResource, error: unknown): RegistrationOutcome {
    const reason = error instanceof Error ? error.message : String(error);
    this.#logger.error({
      msg: 'registration failed',
      provider: this.provider,
      resource: resource.id,
      error: reason,
    });
    return { resource: resource.id, action: 'failed', reasons: [reason] };
  }

  #log(
    level: 'info' | 'warn',
    action: RegistrationAction,
    resource: ObservedResource,
    key?: ResourceKey,
    reasons?: readonly string[],
  ): void {
    const event = {
      msg: `registration ${action}`,
      provider: this.provider,
      resource: resource.id,
      ...(key && { workload: id(key) }),
      ...(reasons && { reasons }),
    };
    if (level === 'warn' && this.#logger.warn) this.#logger.warn(event);
    else this.#logger.info(event);
  }

  async #finish(
    outcomes: RegistrationOutcome[],
    reconcile?: RegistrationEntry['reconcile'],
  ): Promise<RegistrationReport> {
    const counts = Object.fromEntries(ACTIONS.map((a) => [a, 0])) as Record<RegistrationAction, number>;
    for (const o of outcomes) counts[o.action] += 1;
    const now = (this.#options.now ?? Date.now)();
    const at = new Date(now).toISOString();
    const problems: RegistrationProblem[] = outcomes
      .filter((o) => o.action === 'rejected' || o.action === 'conflict')
      .map((o) => ({
        at,
        type: o.action === 'conflict' ? 'conflict' : 'rejected',
        resource: o.resource,
        ...(o.workload && { workload: o.workload }),
        reason: (o.reasons ?? []).join('; ').slice(0, 1000),
      }));
    const totals: Partial<RegistrationTotals> = {
      registered: counts.registered,
      updated: counts.updated,
      removed: counts.removed,
      rejected: counts.rejected,
      conflicts: counts.conflict,
    };
    const changed = Object.values(totals).some((n) => n > 0);
    const { blobs } = this.#options;
    // Nothing new to count costs no write, except a reconcile, whose time is news.
    if (blobs && (changed || reconcile)) {
      await recordRegistration(
        blobs,
        this.provider,
        { totals, problems, ...(reconcile && { reconcile }) },
        now,
      ).catch((error) =>
        this.#logger.error({
          msg: 'registration status not recorded',
          provider: this.provider,
          error: String(error),
        }),
      );
    }
    return { outcomes, counts };
  }
}

/** The resource id a registered Workload names in its annotation. */
function resourceOf(record: StoredRecord): string | undefined {
  return record.resource?.metadata.annotations?.[RESOURCE_ANNOTATION];
}

const id = (key: ResourceKey) => `${key.namespace}/${key.name}`;

function sameDocument(stored: NonNullable<StoredRecord['resource']>, desired: WorkloadDocument): boolean {
  return canonicalJson({ ...stored, status: undefined }) === canonicalJson(desired);
}
