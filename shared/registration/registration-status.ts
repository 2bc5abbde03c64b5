/**
 * What registration from tags has done, per provider, in one small JSON
 * document in the `BlobStore` (`registration/<provider>.json`): totals, the
 * last reconcile and the last {@link MAX_RECENT} problems (rejected tags and
 * conflicts with operators' Workloads). `GET /v1/registration` serves it.
 * Every function instance adds to it under a compare-and-set on its ETag, so
 * concurrent registrars never lose each other's counts.
 *
 * @module
 */
import * as z from 'zod';
import { ConflictError } from '../model/errors.js';
import { PROVIDERS, type Provider } from '../model/specs.js';
import type { BlobStore } from '../storage/blob-store.js';

/** How many problems the document keeps, newest first. */
export const MAX_RECENT = 50;
const CAS_ATTEMPTS = 8;

const count = z.int().min(0);

export const registrationProblemSchema = z.object({
  at: z.string().describe('RFC 3339'),
  type: z.enum(['rejected', 'conflict']),
  resource: z.string().describe('The cloud id of the resource (an ARN on AWS)'),
  workload: z.string().optional().describe('namespace/name of the Workload it concerns, when known'),
  reason: z.string(),
});
export type RegistrationProblem = z.infer<typeof registrationProblemSchema>;

export const registrationTotalsSchema = z.object({
  registered: count.describe('Workloads created'),
  updated: count.describe('Workloads changed because their resource or its tags changed'),
  removed: count.describe('Workloads deleted: tags removed, resource stopped or gone'),
  rejected: count.describe(
    'Observations of a resource whose weft tags were wrong (each event and reconcile counts)',
  ),
  conflicts: count.describe("Resources whose Workload name an operator's Workload already has"),
});
export type RegistrationTotals = z.infer<typeof registrationTotalsSchema>;

export const registrationStatusSchema = z.object({
  provider: z.enum(PROVIDERS),
  totals: registrationTotalsSchema,
  lastEventAt: z.string().optional().describe('RFC 3339: the last event handled'),
  lastReconcile: z
    .object({
      at: z.string().describe('RFC 3339'),
      resources: count.describe('Tagged resources the cloud listed'),
      puts: count,
      deletes: count,
    })
    .optional(),
  recent: z.array(registrationProblemSchema).max(MAX_RECENT).describe('Newest first'),
  updatedAt: z.string(),
});
export type RegistrationStatus = z.infer<typeof registrationStatusSchema>;

/** What one run (an event, a reconcile) adds to the document. */
export interface RegistrationEntry {
  readonly totals: Partial<RegistrationTotals>;
  readonly problems: readonly RegistrationProblem[];
  /** Set by a reconcile. */
  readonly reconcile?: { readonly resources: number; readonly puts: number; readonly deletes: number };
}

/** The blob key of a provider's document. */
export const registrationStatusKey = (provider: Provider) => `registration/${provider}.json`;
export const REGISTRATION_STATUS_PREFIX = 'registration/';

const ZERO: RegistrationTotals = { registered: 0, updated: 0, removed: 0, rejected: 0, conflicts: 0 };

/** The provider's document, or `undefined` before its registrar first wrote one (or when it is unreadable). */
export async function readRegistrationStatus(
  blobs: BlobStore,
  provider: Provider,
): Promise<RegistrationStatus | undefined> {
  return parseStatus((await blobs.get(registrationStatusKey(provider)))?.body);
}

/** Every provider's document under {@link REGISTRATION_STATUS_PREFIX}, sorted by provider. */
export async function listRegistrationStatus(blobs: BlobStore): Promise<RegistrationStatus[]> {
  const keys = await blobs.list(REGISTRATION_STATUS_PREFIX);
  const docs = await Promise.all(keys.map(async (key) => parseStatus((await blobs.get(key))?.body)));
  return docs.filter((d): d is RegistrationStatus => d !== undefined);
}

/**
 * Adds `entry` to the provider's document (compare-and-set on its ETag,
 * retried when another instance wrote first).
 *
 * @returns the document as written.
 * @throws ConflictError when every attempt lost the race.
 */
export async function recordRegistration(
  blobs: BlobStore,
  provider: Provider,
  entry: RegistrationEntry,
  now: number = Date.now(),
): Promise<RegistrationStatus> {
  const key = registrationStatusKey(provider);
  const at = new Date(now).toISOString();
  for (let attempt = 1; ; attempt++) {
    const stored = await blobs.get(key);
    const current = parseStatus(stored?.body);
    const totals = { ...ZERO, ...current?.totals };
    for (const name of Object.keys(ZERO) as (keyof RegistrationTotals)[])
      totals[name] += entry.totals[name] ?? 0;
    const next: RegistrationStatus = {
      provider,
      totals,
      ...(current?.lastEventAt && { lastEventAt: current.lastEventAt }),
      ...(current?.lastReconcile && { lastReconcile: current.lastReconcile }),
      ...(entry.reconcile ? { lastReconcile: { at, ...entry.reconcile } } : { lastEventAt: at }),
      recent: [...entry.problems]
        .reverse()
        .concat(current?.recent ?? [])
        .slice(0, MAX_RECENT),
      updatedAt: at,
    };
    try {
      // A document that does not parse is replaced: it holds counts, not state.
      await blobs.put(key, JSON.stringify(next), { ifMatch: stored ? stored.etag : null });
      return next;
    } catch (error) {
      if (!(error instanceof ConflictError) || attempt >= CAS_ATTEMPTS) throw error;
    }
  }
}

function parseStatus(body: string | undefined): RegistrationStatus | undefined {
  if (body === undefined) return undefined;
  try {
    const parsed = registrationStatusSchema.safeParse(JSON.parse(body));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
