/**
 * The document every kind shares (`apiVersion`, `kind`, `metadata`, `spec`),
 * parsed from untrusted input with one call: {@link parseResource}.
 *
 * @module
 */
import * as z from 'zod';
import { checkRulesTrustDomain } from './attestation-rules.js';
import { parseDuration } from './duration.js';
import { DEFAULT_ROUTE_TIMEOUT, DURATION_RANGES, describeRange, inRange } from './duration-ranges.js';
import { type FieldIssue, ValidationError } from './errors.js';
import { API_VERSION, DEFAULT_NAMESPACE, KIND_INFO, KINDS, type Kind, type ResourceKey } from './kinds.js';
import { LABEL_KEY, LABEL_VALUE } from './names.js';
import { dnsLabel, SPEC_SCHEMAS } from './specs.js';

const MAX_LABELS = 64;

const labels = z
  .record(
    z.string().regex(LABEL_KEY, 'label keys are [prefix/]name, as in Kubernetes'),
    z.string().regex(LABEL_VALUE, 'label values are at most 63 letters, digits, "-", "_" or "."'),
  )
  .refine((r) => Object.keys(r).length <= MAX_LABELS, `at most ${MAX_LABELS} labels`);

const annotations = z
  .record(z.string().regex(LABEL_KEY), z.string().max(4096))
  .refine((r) => Object.keys(r).length <= MAX_LABELS, `at most ${MAX_LABELS} annotations`);

export const metadataSchema = z.strictObject({
  name: dnsLabel,
  namespace: dnsLabel.optional(),
  labels: labels.optional(),
  annotations: annotations.optional(),
});

/** Fields the system writes on every stored resource; operators never set them. */
export const statusSchema = z.strictObject({
  version: z.string().describe('HLC version of the last write; also the ETag.'),
  updatedAt: z.string().describe('RFC 3339 time of the last write.'),
  origin: z.string().describe('The cloud (control-plane instance) that made the last write.'),
});
export type ResourceStatus = z.infer<typeof statusSchema>;

const envelope = z.strictObject({
  apiVersion: z.literal(API_VERSION, { error: `apiVersion must be ${API_VERSION}` }),
  kind: z.enum(KINDS, { error: `kind must be one of ${KINDS.join(', ')}` }),
  metadata: metadataSchema,
  spec: z.unknown(),
  // Accepted so that `weft get -o yaml | weft apply -f -` works; always ignored.
  status: z.unknown().optional(),
});

export type Metadata = z.infer<typeof metadataSchema>;

type SpecOf<K extends Kind> = z.infer<(typeof SPEC_SCHEMAS)[K]>;

/** A validated document of one kind, as the operator wrote it. */
export interface ResourceOf<K extends Kind> {
  apiVersion: typeof API_VERSION;
  kind: K;
  metadata: Metadata;
  spec: SpecOf<K>;
  status?: ResourceStatus;
}
export type Resource = { [K in Kind]: ResourceOf<K> }[Kind];

/** Turns zod issues into JSON-pointer issues under `prefix`. */
export function toFieldIssues(error: z.ZodError, prefix = ''): FieldIssue[] {
  const pointer = (path: readonly PropertyKey[]) =>
    prefix + path.map((p) => `/${String(p).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
  return error.issues.flatMap((i) =>
    i.code === 'unrecognized_keys'
      ? i.keys.map((k) => ({
          pointer: pointer([...i.path, k]),
          detail: `unknown field "${k}"; remove it (GET /v1/openapi.json lists the fields)`,
        }))
      : [{ pointer: pointer(i.path), detail: i.message }],
  );
}

/**
 * Validates untrusted input as a weft document: shape, names, the kind's spec
 * and the rules that span fields. Namespaced kinds without a namespace get
 * `default`; `status` is dropped.
 *
 * @throws ValidationError naming every offending field.
 * @example
 * const svc = parseResource({ apiVersion: 'weft.dev/v1', kind: 'Service',
 *   metadata: { name: 'orders', namespace: 'shop' }, spec: { ports: [{ port: 8080 }] } });
 */
export function parseResource(input: unknown): Resource {
  const env = envelope.safeParse(input);
  if (!env.success) throw new ValidationError(summary(toFieldIssues(env.error)), toFieldIssues(env.error));
  const { kind, metadata } = env.data;
  const issues: FieldIssue[] = [];
  const spec = SPEC_SCHEMAS[kind].safeParse(env.data.spec);
  if (!spec.success) issues.push(...toFieldIssues(spec.error, '/spec'));
  const meta: Metadata = { ...metadata };
  if (KIND_INFO[kind].namespaced) {
    meta.namespace ??= DEFAULT_NAMESPACE;
  } else if (metadata.namespace !== undefined) {
    issues.push({
      pointer: '/metadata/namespace',
      detail: `${kind} is cluster-scoped: remove metadata.namespace`,
    });
  }
  if (spec.success) issues.push(...crossFieldIssues(kind, spec.data));
  if (issues.length > 0) throw new ValidationError(summary(issues), issues);
  return { apiVersion: API_VERSION, kind, metadata: meta, spec: spec.data } as Resource;
}

function summary(issues: readonly FieldIssue[]): string {
  const first = issues[0];
  if (!first) return 'invalid document';
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
  return `${first.pointer || 'document'}: ${first.detail}${more}`;
}

function crossFieldIssues(kind: Kind, spec: unknown): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (kind === 'Route') {
    const route = spec as SpecOf<'Route'>;
    const seenMatches = new Map<string, number>();
    route.rules.forEach((rule, r) => {
      const weights = rule.backends.map((b) => b.weight ?? 1);
      if (weights.reduce((a, b) => a + b, 0) <= 0) {
        issues.push({
          pointer: `/spec/rules/${r}/backends`,
          detail: 'backend weights must add up to more than 0',
        });
      }
      const envs = new Set<string>();
      rule.backends.forEach((b, i) => {
        if (envs.has(b.environment)) {
          issues.push({
            pointer: `/spec/rules/${r}/backends/${i}/environment`,
            detail: `environment ${b.environment} is listed twice`,
          });
        }
        envs.add(b.environment);
      });
      const perTry = perTryIssue(rule.timeout, rule.retries?.perTryTimeout, `/spec/rules/${r}`);
      if (perTry) issues.push(perTry);
      if (rule.failover && new Set(rule.failover).size !== rule.failover.length) {
        issues.push({ pointer: `/spec/rules/${r}/failover`, detail: 'failover lists an environment twice' });
      }
      (rule.matches ?? [{}]).forEach((m, i) => {
        if ('headers' in m) issues.push(...headerIssues(m.headers, `/spec/rules/${r}/matches/${i}/headers`));
        const canonical = canonicalJson(m);
        const earlier = seenMatches.get(canonical);
        if (earlier !== undefined) {
          issues.push({
            pointer: rule.matches ? `/spec/rules/${r}/matches/${i}` : `/spec/rules/${r}`,
            detail: `duplicates the match of rule ${earlier}; a request could never reach this one`,
          });
        } else {
          seenMatches.set(canonical, r);
        }
      });
    });
  }
  if (kind === 'Mesh') issues.push(...meshIssues(spec as SpecOf<'Mesh'>));
  if (kind === 'AccessPolicy') {
    const policy = spec as SpecOf<'AccessPolicy'>;
    policy.rules.forEach((rule, r) => {
      issues.push(...headerIssues(rule.headers, `/spec/rules/${r}/headers`));
    });
  }
  return issues;
}

function meshIssues(mesh: SpecOf<'Mesh'>): FieldIssue[] {
  if (!mesh.attestation) return [];
  const issues = checkRulesTrustDomain(mesh.attestation, mesh.trustDomain);
  const maxTtl = mesh.attestation.joinToken?.maxTtl;
  if (maxTtl !== undefined) {
    // Checked with the Mesh, as before, with the range of every other duration field (DURATION_RANGES).
    if (!inRange(parseDuration(maxTtl), DURATION_RANGES.maxTtl)) {
      issues.push({
        pointer: '/spec/attestation/joinToken/maxTtl',
        detail: `must be ${describeRange(DURATION_RANGES.maxTtl)}`,
      });
    }
  }
  return issues;
}

/** A per-try timeout longer than the whole call's could never apply; `0s` (no timeout) bounds nothing. */
function perTryIssue(
  timeout: string | undefined,
  perTryTimeout: string | undefined,
  rule: string,
): FieldIssue | undefined {
  if (perTryTimeout === undefined) return undefined;
  const wholeMs = parseDuration(timeout ?? DEFAULT_ROUTE_TIMEOUT);
  if (wholeMs === 0 || parseDuration(perTryTimeout) <= wholeMs) return undefined;
  const whole = timeout ?? `${DEFAULT_ROUTE_TIMEOUT} (the default)`;
  return {
    pointer: `${rule}/retries/perTryTimeout`,
    detail: `perTryTimeout must be at most the rule's timeout, ${whole} (got ${perTryTimeout})`,
  };
}

interface HeaderMatch {
  name: string;
  type?: 'Exact' | 'Prefix' | 'Present' | undefined;
  value?: string | undefined;
}

function headerIssues(headers: readonly HeaderMatch[] | undefined, pointer: string): FieldIssue[] {
  return (headers ?? []).flatMap((h, i) =>
    (h.type ?? 'Exact') !== 'Present' && h.value === undefined
      ? [{ pointer: `${pointer}/${i}/value`, detail: `a ${h.type ?? 'Exact'} match needs a value` }]
      : [],
  );
}

/** JSON with object keys sorted, so equal values give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

/** The key of a parsed resource. */
export function keyOf(resource: Resource): ResourceKey {
  return { kind: resource.kind, namespace: resource.metadata.namespace ?? '', name: resource.metadata.name };
}
