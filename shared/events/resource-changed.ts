/**
 * `dev.weft.resource.changed`: a resource was written or deleted. The event
 * names the write (key and HLC version), not its content: consumers read the
 * state, so a late, duplicated or reordered event can never carry stale data.
 *
 * @module
 */
import * as z from 'zod';
import { ValidationError } from '../model/errors.js';
import { parseHlc } from '../model/hlc.js';
import { formatKey, KINDS, type ResourceKey } from '../model/kinds.js';
import { DNS1123_LABEL } from '../model/names.js';
import { toFieldIssues } from '../model/resource.js';
import type { StoredRecord } from '../storage/state-store.js';
import { CLOUDEVENTS_SPEC_VERSION, type CloudEvent } from './cloud-event.js';

/** The CloudEvents `type` of a stored write. */
export const RESOURCE_CHANGED = 'dev.weft.resource.changed';

/** The `data` of a {@link RESOURCE_CHANGED} event. */
export interface ResourceChange {
  readonly key: ResourceKey;
  /** The HLC version of the write. */
  readonly version: string;
  /** The cloud that made the write. */
  readonly origin: string;
  /** True for a delete (the store holds a tombstone). */
  readonly deleted: boolean;
}

/**
 * The event for one stored write. Its `id` is the key and version, so every
 * publication of the same write (the API's, the sweep's, a relay's) has the
 * same id.
 *
 * @example
 * await bus.publish([resourceChangedEvent(record, '/weft/local')]);
 */
export function resourceChangedEvent(record: StoredRecord, source: string): CloudEvent<ResourceChange> {
  const { key, version, origin, updatedAt } = record;
  const subject = formatKey(key);
  return {
    specversion: CLOUDEVENTS_SPEC_VERSION,
    id: `${subject}@${version}`,
    source,
    type: RESOURCE_CHANGED,
    // Hand-built records (tests, merges of old data) may lack a time; the attribute is optional.
    ...(updatedAt && { time: updatedAt }),
    subject,
    datacontenttype: 'application/json',
    data: { key: { ...key }, version, origin, deleted: record.resource === null },
  };
}

const label = z.string().regex(DNS1123_LABEL, 'must be a DNS-1123 label');
/** A {@link ResourceKey} that came from outside the process. */
export const resourceKeySchema = z.object({
  kind: z.enum(KINDS),
  namespace: z.union([z.literal(''), label]),
  name: label,
});
/** An HLC version that came from outside the process. */
export const hlcVersionSchema = z.string().refine((v) => parseHlc(v) !== undefined, 'must be an HLC version');
/** A cloud name (`origin`): what the HLC takes as its node. */
export const originSchema = z.string().regex(/^[a-z0-9-]{1,32}$/, 'must be a cloud name such as aws');
const dataSchema = z.object({
  key: resourceKeySchema,
  version: hlcVersionSchema,
  origin: z.string().min(1).max(64),
  deleted: z.boolean(),
});

/**
 * The change an event announces.
 *
 * @throws ValidationError when the event is of another type or its data is malformed.
 */
export function parseResourceChange(event: CloudEvent): ResourceChange {
  if (event.type !== RESOURCE_CHANGED) {
    throw new ValidationError(`event ${event.id} is a ${event.type}, not a ${RESOURCE_CHANGED}`, [
      { pointer: '/type', detail: `must be ${RESOURCE_CHANGED}` },
    ]);
  }
  const parsed = dataSchema.safeParse(event.data);
  if (parsed.success) return parsed.data;
  const issues = toFieldIssues(parsed.error, '/data');
  throw new ValidationError(`event ${event.id}: ${issues[0]?.pointer}: ${issues[0]?.detail}`, issues);
}
