/**
 * The seven resource kinds, how they are addressed and whether they live in a
 * namespace.
 *
 * @module
 */

export const API_VERSION = 'weft.dev/v1';

export const KINDS = [
  'Mesh',
  'Environment',
  'Gateway',
  'Service',
  'Workload',
  'AccessPolicy',
  'Route',
] as const;
export type Kind = (typeof KINDS)[number];

interface KindInfo {
  /** Path segment in the API: `/v1/<plural>/...`. */
  readonly plural: string;
  /** Namespaced kinds are addressed as `/v1/<plural>/<namespace>/<name>`. */
  readonly namespaced: boolean;
  /** Short names the CLI accepts besides kind, plural and singular. */
  readonly short: readonly string[];
}

export const KIND_INFO: Readonly<Record<Kind, KindInfo>> = {
  Mesh: { plural: 'meshes', namespaced: false, short: [] },
  Environment: { plural: 'environments', namespaced: false, short: ['env', 'envs'] },
  Gateway: { plural: 'gateways', namespaced: false, short: ['gw', 'gws'] },
  Service: { plural: 'services', namespaced: true, short: ['svc', 'svcs'] },
  Workload: { plural: 'workloads', namespaced: true, short: ['wl'] },
  AccessPolicy: { plural: 'accesspolicies', namespaced: true, short: ['ap', 'policy', 'policies'] },
  Route: { plural: 'routes', namespaced: true, short: ['rt'] },
};

const BY_ALIAS = new Map<string, Kind>();
for (const kind of KINDS) {
  const info = KIND_INFO[kind];
  for (const alias of [kind, info.plural, info.plural.replace(/e?s$/, ''), ...info.short]) {
    BY_ALIAS.set(alias.toLowerCase(), kind);
  }
}
BY_ALIAS.set('accesspolicy', 'AccessPolicy');

/**
 * Resolves what a user typed (`svc`, `services`, `Service`, `accesspolicies`)
 * to a kind.
 */
export function resolveKind(alias: string): Kind | undefined {
  return BY_ALIAS.get(alias.toLowerCase());
}

/** The namespace used when a namespaced document names none. */
export const DEFAULT_NAMESPACE = 'default';

/** No Mesh may let a join token live longer than a day: it is a bearer secret in transit. */
export const JOIN_TOKEN_MAX_TTL_MS = 24 * 3_600_000;

/** Where one resource lives. Cluster-scoped kinds have `namespace: ''`. */
export interface ResourceKey {
  readonly kind: Kind;
  readonly namespace: string;
  readonly name: string;
}

/** `Service/shop/orders`, `Environment/aws`: for messages and logs. */
export function formatKey(key: ResourceKey): string {
  return key.namespace ? `${key.kind}/${key.namespace}/${key.name}` : `${key.kind}/${key.name}`;
}

/** The API path of one resource. */
export function resourcePath(key: ResourceKey): string {
  const { plural } = KIND_INFO[key.kind];
  return key.namespace ? `/v1/${plural}/${key.namespace}/${key.name}` : `/v1/${plural}/${key.name}`;
}
