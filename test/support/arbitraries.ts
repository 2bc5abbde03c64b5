/**
 * fast-check arbitraries for weft documents: valid documents of every kind
 * (down to the cross-field rules), the Environments they reference, and
 * mutations that make a valid document invalid.
 *
 * @module
 */
import fc from 'fast-check';
import { formatDuration, parseDuration } from '../../shared/model/duration.js';
import {
  DEFAULT_ROUTE_TIMEOUT,
  DURATION_RANGES,
  type DurationRange,
} from '../../shared/model/duration-ranges.js';
import { KIND_INFO, type Kind, resourcePath } from '../../shared/model/kinds.js';
import { DNS1123_LABEL, LABEL_KEY, LABEL_VALUE } from '../../shared/model/names.js';
import { canonicalJson } from '../../shared/model/resource.js';

/** A document as an operator writes it: plain JSON. */
export interface Doc {
  apiVersion: string;
  kind: Kind;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [k: string]: unknown };
  spec: Record<string, unknown>;
}

const opt = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
/** Drops keys whose value is `undefined`, as JSON would. */
const compact = <T extends object>(value: T): T =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
const record = <T extends Record<string, fc.Arbitrary<unknown>>>(model: T) =>
  fc.record(model).map((v) => compact(v as Record<string, unknown>));

export const dnsLabel = fc.stringMatching(DNS1123_LABEL, { size: 'small' });
const labelKey = fc.stringMatching(LABEL_KEY, { size: 'small' }).filter((k) => k.length <= 317);
const labelValue = fc.stringMatching(LABEL_VALUE, { size: 'small' });
const labels = fc.dictionary(labelKey, labelValue, { maxKeys: 6, noNullPrototype: true });
// Any Unicode, since annotations carry free text from operators.
const annotations = fc.dictionary(labelKey, fc.string({ unit: 'binary', maxLength: 40 }), {
  maxKeys: 3,
  noNullPrototype: true,
});

const port = fc.integer({ min: 1, max: 65535 });
const host = fc.oneof(
  fc.domain().filter((d) => d.length <= 200),
  fc.ipV4(),
  fc.ipV6().map((a) => `[${a}]`),
);
const hostPort = fc.tuple(host, port).map(([h, p]) => `${h}:${p}`);
const httpUrl = fc.webUrl({ size: 'small' }).filter((u) => u.length <= 2048 && URL.canParse(u));
/** A duration in the field's range, as the shortest text or in ms; `0s` too where the field allows it. */
const duration = (field: keyof typeof DURATION_RANGES) => {
  const range: DurationRange = DURATION_RANGES[field];
  const inside = fc
    .integer({ min: range.min, max: range.max })
    .chain((ms) => fc.constantFrom(formatDuration(ms), `${ms}ms`));
  return range.zero === undefined ? inside : fc.oneof(fc.constant('0s'), inside);
};
/** A perTryTimeout longer than the rule's timeout is refused: cut it to the timeout. */
const fitPerTry = <R extends { timeout?: string; retries?: { perTryTimeout?: string } }>(rule: R): R => {
  const per = rule.retries?.perTryTimeout;
  const whole = rule.timeout ?? DEFAULT_ROUTE_TIMEOUT;
  if (per === undefined || parseDuration(whole) === 0 || parseDuration(per) <= parseDuration(whole))
    return rule;
  return { ...rule, retries: { ...rule.retries, perTryTimeout: whole } };
};
const httpMethod = fc.constantFrom(
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
  'CONNECT',
  'TRACE',
);
const headerName = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,40}$/);
const headerMatch = fc.oneof(
  record({ name: headerName, type: fc.constant('Present'), value: opt(fc.string({ maxLength: 20 })) }),
  record({
    name: headerName,
    type: opt(fc.constantFrom('Exact', 'Prefix')),
    value: fc.string({ unit: 'binary', maxLength: 20 }),
  }),
);
const pathValue = fc.stringMatching(/^\/[^\s]{0,30}$/);
const trustDomain = fc.stringMatching(/^[a-z0-9-]{1,20}\.test$/);
const segment = fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/);
const spiffeId = fc
  .tuple(trustDomain, fc.array(segment, { minLength: 1, maxLength: 4 }))
  .map(([td, segs]) => `spiffe://${td}/${segs.join('/')}`);
const identityPattern = fc.oneof(
  fc.constant('*'),
  spiffeId,
  spiffeId.map((id) => `${id}/*`),
  trustDomain.map((td) => `spiffe://${td}/*`),
);
const ipAddress = fc.oneof(
  fc.ipV4(),
  fc.ipV6().filter((a) => a.length <= 45),
);

/** Gateway and Service paths, the only identities attestation rules may grant. */
const meshIdentityPath = fc.oneof(
  fc.tuple(dnsLabel, dnsLabel).map(([env, gw]) => `/gw/${env}/${gw}`),
  fc.tuple(dnsLabel, dnsLabel).map(([ns, svc]) => `/ns/${ns}/svc/${svc}`),
);
const accountId = fc.stringMatching(/^\d{12}$/);
const iamName = fc.stringMatching(/^[\w+=,.@-]{1,64}$/);
const awsRule = fc.oneof(
  record({ accountId, roleName: opt(iamName), path: meshIdentityPath }),
  fc.record({ accountId, role: iamName, path: meshIdentityPath }).map(({ accountId, role, path }) => ({
    accountId,
    roleArn: `arn:aws:iam::${accountId}:role/${role}`,
    path,
  })),
);
const projectId = fc.stringMatching(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/);
const gcpRule = fc
  .record({ projectId, sa: opt(fc.stringMatching(/^[a-z][a-z0-9-]{5,29}$/)), path: meshIdentityPath })
  .map(({ projectId, sa, path }) =>
    compact({ projectId, serviceAccount: sa && `${sa}@${projectId}.iam.gserviceaccount.com`, path }),
  );
const azureRule = record({ tenantId: fc.uuid(), objectId: opt(fc.uuid()), path: meshIdentityPath });
/** Rules whose `path` becomes a SPIFFE ID once the Mesh's trust domain is known. */
const attestationTemplate = record({
  joinToken: opt(record({ maxTtl: opt(fc.integer({ min: 1, max: 1440 }).map((m) => `${m}m`)) })),
  aws: opt(fc.array(awsRule, { maxLength: 3 })),
  gcp: opt(fc.array(gcpRule, { maxLength: 3 })),
  azure: opt(fc.array(azureRule, { maxLength: 3 })),
});

/** Rule SPIFFE IDs must be in the Mesh's own trust domain. */
function inTrustDomain(template: Record<string, unknown>, trustDomain: string): Record<string, unknown> {
  const withIds = (rules: unknown) =>
    (rules as { path: string }[] | undefined)?.map(({ path, ...rule }) => ({
      ...rule,
      spiffeId: `spiffe://${trustDomain}${path}`,
    }));
  return compact({
    ...template,
    aws: withIds(template.aws),
    gcp: withIds(template.gcp),
    azure: withIds(template.azure),
  });
}

const meshSpec = record({
  trustDomain: fc.stringMatching(/^[a-z0-9._-]{1,40}$/),
  meshDomain: opt(fc.domain().filter((d) => d.length <= 253)),
  defaultAction: opt(fc.constantFrom('deny', 'allow')),
  mtls: opt(fc.constant({ mode: 'strict' })),
  credentials: opt(
    record({ x509SvidTtl: opt(duration('x509SvidTtl')), jwtSvidTtl: opt(duration('jwtSvidTtl')) }),
  ),
  identity: opt(record({ allowSourceAddress: opt(fc.boolean()) })),
  operatorAuth: opt(
    record({
      issuer: fc.string({ minLength: 1, maxLength: 40 }),
      jwksUri: opt(httpUrl),
      audience: opt(fc.string({ minLength: 1, maxLength: 20 })),
      roleClaim: opt(fc.string({ minLength: 1, maxLength: 20 })),
    }),
  ),
  attestation: opt(attestationTemplate),
}).map((spec) =>
  spec.attestation
    ? {
        ...spec,
        attestation: inTrustDomain(spec.attestation as Record<string, unknown>, spec.trustDomain as string),
      }
    : spec,
);

const environmentSpec = record({
  provider: fc.constantFrom('aws', 'gcp', 'azure', 'onprem', 'local'),
  region: fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,62})$/, { size: 'small' }),
  zone: opt(fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,62})$/, { size: 'small' })),
  priority: opt(fc.integer({ min: 0, max: 1000 })),
});

const gatewaySpec = record({
  environment: dnsLabel,
  address: hostPort,
  egressAddress: opt(hostPort),
  webhook: opt(httpUrl),
});

const serviceSpec = record({
  protocol: opt(fc.constantFrom('http', 'http2', 'grpc', 'tcp')),
  ports: fc.array(record({ name: opt(dnsLabel), port, targetPort: opt(port) }), {
    minLength: 1,
    maxLength: 4,
  }),
  endpoints: opt(
    fc.array(
      record({ environment: dnsLabel, address: hostPort, weight: opt(fc.integer({ min: 0, max: 1000 })) }),
      {
        maxLength: 4,
      },
    ),
  ),
});

const workloadSpec = record({
  service: dnsLabel,
  environment: dnsLabel,
  address: hostPort,
  weight: opt(fc.integer({ min: 0, max: 1000 })),
  sourceAddresses: opt(fc.array(ipAddress, { maxLength: 3 })),
});

const accessPolicySpec = record({
  service: dnsLabel,
  action: fc.constantFrom('allow', 'deny'),
  rules: fc.array(
    record({
      from: fc.array(identityPattern, { minLength: 1, maxLength: 3 }),
      methods: opt(fc.array(httpMethod, { maxLength: 3 })),
      paths: opt(fc.array(pathValue, { maxLength: 3 })),
      headers: opt(fc.array(headerMatch, { maxLength: 2 })),
    }),
    { minLength: 1, maxLength: 3 },
  ),
});

const routeMatch = record({
  path: opt(record({ type: opt(fc.constantFrom('Exact', 'PathPrefix')), value: pathValue })),
  method: opt(httpMethod),
  headers: opt(fc.array(headerMatch, { maxLength: 2 })),
});

const routeRule = record({
  matches: opt(fc.array(routeMatch, { maxLength: 3 })),
  backends: fc
    .uniqueArray(record({ environment: dnsLabel, weight: opt(fc.integer({ min: 0, max: 1_000_000 })) }), {
      minLength: 1,
      maxLength: 3,
      selector: (b) => b.environment,
    })
    // Weights must add up to more than 0; an omitted weight counts as 1.
    .filter((bs) => bs.some((b) => b.weight !== 0)),
  timeout: opt(duration('timeout')),
  retries: opt(
    record({
      attempts: fc.integer({ min: 0, max: 10 }),
      perTryTimeout: opt(duration('perTryTimeout')),
      retryOn: opt(fc.array(fc.constantFrom('connect-failure', 'reset', '5xx'), { maxLength: 3 })),
    }),
  ),
  failover: opt(fc.uniqueArray(dnsLabel, { maxLength: 3 })),
}).map(fitPerTry);

const routeSpec = record({
  service: dnsLabel,
  rules: fc.array(routeRule, { minLength: 1, maxLength: 3 }).map(withDistinctMatches),
  outlierDetection: opt(
    record({
      consecutiveErrors: opt(fc.integer({ min: 1, max: 1000 })),
      baseEjectionTime: opt(duration('baseEjectionTime')),
      maxEjectionPercent: opt(fc.integer({ min: 0, max: 100 })),
    }),
  ),
});

/** No match may repeat an earlier one (a rule without matches matches `{}`): the later could never be reached. */
function withDistinctMatches(rules: Record<string, unknown>[]): Record<string, unknown>[] {
  const seen = new Set<string>();
  const kept = rules.filter((rule) => {
    const matches = (rule.matches as object[] | undefined) ?? [{}];
    const keys = matches.map((m) => canonicalJson(m));
    if (keys.some((k) => seen.has(k)) || new Set(keys).size !== keys.length) return false;
    for (const k of keys) seen.add(k);
    return true;
  });
  return kept.length > 0 ? kept : [{ ...rules[0]!, matches: [] }];
}

const SPECS: Record<Kind, fc.Arbitrary<Record<string, unknown>>> = {
  Mesh: meshSpec,
  Environment: environmentSpec,
  Gateway: gatewaySpec,
  Service: serviceSpec,
  Workload: workloadSpec,
  AccessPolicy: accessPolicySpec,
  Route: routeSpec,
};

/** A valid document of `kind`, namespaced kinds with an explicit namespace. */
export function validDocument(kind: Kind): fc.Arbitrary<Doc> {
  const metadata = record({
    name: dnsLabel,
    namespace: KIND_INFO[kind].namespaced ? dnsLabel : fc.constant(undefined),
    labels: opt(labels),
    annotations: opt(annotations),
  });
  return fc
    .record({ metadata, spec: SPECS[kind] })
    .map(({ metadata, spec }) => ({ apiVersion: 'weft.dev/v1', kind, metadata, spec }) as Doc);
}

/** The API path of a document. */
export const pathOf = (doc: Doc) =>
  resourcePath({ kind: doc.kind, namespace: doc.metadata.namespace ?? '', name: doc.metadata.name });

/** Names of the Environments a document refers to (which must exist before it is written). */
export function referencedEnvironments(doc: Doc): string[] {
  const spec = doc.spec;
  switch (doc.kind) {
    case 'Gateway':
    case 'Workload':
      return [spec.environment as string];
    case 'Service':
      return ((spec.endpoints as { environment: string }[] | undefined) ?? []).map((e) => e.environment);
    case 'Route':
      return (spec.rules as { backends: { environment: string }[]; failover?: string[] }[]).flatMap((r) => [
        ...r.backends.map((b) => b.environment),
        ...(r.failover ?? []),
      ]);
    default:
      return [];
  }
}

/** A minimal Environment document. */
export const environmentDoc = (name: string): Doc => ({
  apiVersion: 'weft.dev/v1',
  kind: 'Environment',
  metadata: { name },
  spec: { provider: 'local', region: 'home' },
});

/** Names that break DNS-1123: case, edges, characters, length. */
export const invalidName = fc.oneof(
  fc.constantFrom('', '-web', 'web-', 'Web', 'we_b', 'we.b', 'wéb', ' web', 'web\n', 'a'.repeat(64)),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 80 }).filter((s) => !DNS1123_LABEL.test(s)),
);

type Path = (string | number)[];

function paths(value: unknown, at: Path = []): Path[] {
  if (typeof value !== 'object' || value === null) return [];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  return entries.flatMap(([k, v]) => [[...at, k], ...paths(v, [...at, k])]);
}

function objectPaths(value: unknown, at: Path = []): Path[] {
  if (typeof value !== 'object' || value === null) return [];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  const nested = entries.flatMap(([k, v]) => objectPaths(v, [...at, k]));
  return Array.isArray(value) ? nested : [at, ...nested];
}

function at(root: unknown, path: Path): unknown {
  return path.reduce<unknown>((node, k) => (node as Record<string | number, unknown>)[k], root);
}

/** A value of another JSON type than `value`: every field of every kind is typed strictly, so never valid. */
function wrongType(value: unknown): unknown {
  if (typeof value === 'string') return 12345;
  if (typeof value === 'number') return 'not-a-number';
  if (typeof value === 'boolean') return 'yes';
  return Array.isArray(value) ? { not: 'an array' } : 'not-an-object';
}

/**
 * A valid document made invalid in one way: a field of the wrong type, an
 * unknown field (its `$` makes it no label key either), a bad name or
 * namespace, a required field dropped, or a wrong apiVersion or kind.
 */
export function invalidDocument(valid: fc.Arbitrary<Doc>): fc.Arbitrary<unknown> {
  return fc
    .tuple(
      valid,
      fc.nat(),
      fc.nat(4),
      invalidName,
      fc.string({ maxLength: 8 }),
      fc.jsonValue({ maxDepth: 2 }),
    )
    .map(([doc, pick, how, badName, suffix, junk]) => {
      const copy = structuredClone(doc) as unknown as Record<string, unknown>;
      const metadata = copy.metadata as Record<string, unknown>;
      switch (how) {
        case 0: {
          const all = paths(copy);
          const path = all[pick % all.length]!;
          const parent = at(copy, path.slice(0, -1)) as Record<string | number, unknown>;
          parent[path.at(-1)!] = wrongType(parent[path.at(-1)!]);
          break;
        }
        case 1: {
          const all = objectPaths(copy);
          (at(copy, all[pick % all.length]!) as Record<string, unknown>)[`$${suffix}`] = junk;
          break;
        }
        case 2:
          if (doc.metadata.namespace !== undefined && pick % 2 === 0) metadata.namespace = badName;
          else metadata.name = badName;
          break;
        case 3:
          delete copy[['apiVersion', 'kind', 'metadata', 'spec'][pick % 4]!];
          break;
        default:
          if (pick % 2 === 0) copy.apiVersion = ['v1', 'weft.dev/v2', 'weft.dev/v1 ', ''][pick % 4];
          else copy.kind = ['Widget', 'service', 'ServiceList', ''][pick % 4];
      }
      return copy;
    });
}
