/**
 * The CloudEvents 1.0 envelope (structured JSON mode) every event weft puts
 * on a bus wears, whichever bus it is: EventBridge, Pub/Sub and Event Grid
 * all carry it, and the local bus passes it in process. Only the spec's own
 * attributes; extensions, should a relay add any, must be named as the spec
 * says (lowercase letters and digits, at most 20).
 *
 * @module
 */
import * as z from 'zod';
import { ValidationError } from '../model/errors.js';
import { toFieldIssues } from '../model/resource.js';

/** The `specversion` every event carries. */
export const CLOUDEVENTS_SPEC_VERSION = '1.0';

/** A CloudEvent with JSON `data`. */
export interface CloudEvent<T = unknown> {
  readonly specversion: typeof CLOUDEVENTS_SPEC_VERSION;
  /** Unique per source; a redelivery keeps it, so consumers can tell duplicates. */
  readonly id: string;
  /** URI-reference of what emitted it, e.g. `/weft/aws`. */
  readonly source: string;
  /** Reverse-DNS, e.g. `dev.weft.resource.changed`. */
  readonly type: string;
  /** RFC 3339. */
  readonly time?: string;
  /** What it is about within the source, e.g. `Service/shop/orders`. */
  readonly subject?: string;
  readonly datacontenttype?: string;
  readonly dataschema?: string;
  readonly data?: T;
}

const text = z.string().min(1).max(1024);
const EXTENSION = /^[a-z0-9]{1,20}$/;
const KNOWN = new Set([
  'specversion',
  'id',
  'source',
  'type',
  'time',
  'subject',
  'datacontenttype',
  'dataschema',
]);
KNOWN.add('data');

const envelopeSchema = z
  .looseObject({
    specversion: z.literal(CLOUDEVENTS_SPEC_VERSION),
    id: text,
    source: text.regex(/^\S+$/, 'must be a URI-reference'),
    type: text,
    time: z.iso.datetime({ offset: true }).optional(),
    subject: text.optional(),
    datacontenttype: text.optional(),
    dataschema: z.url().optional(),
    data: z.unknown().optional(),
  })
  .superRefine((event, ctx) => {
    for (const name of Object.keys(event)) {
      if (!KNOWN.has(name) && !EXTENSION.test(name))
        ctx.addIssue({ code: 'custom', path: [name], message: 'not a CloudEvents attribute name' });
    }
  });

/**
 * Checks an event that came from outside the process (a bus delivery, a
 * relay from another cloud) against CloudEvents 1.0.
 *
 * @throws ValidationError naming every offending attribute (`/source`, `/time`...).
 */
export function parseCloudEvent(input: unknown): CloudEvent {
  const parsed = envelopeSchema.safeParse(input);
  if (parsed.success) return parsed.data as CloudEvent;
  const issues = toFieldIssues(parsed.error);
  throw new ValidationError(
    `not a CloudEvents 1.0 event: ${issues[0]?.pointer || '/'}: ${issues[0]?.detail ?? 'invalid'}`,
    issues,
  );
}
