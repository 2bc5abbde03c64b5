/**
 * The table columns of `weft get`, per kind: NAMESPACE and NAME first, a few
 * spec fields an operator scans for, then VERSION and AGE. Unset optional
 * fields show their documented default, so the table says what is in force.
 *
 * @module
 */
import { KIND_INFO, type Kind } from '../../shared/model/kinds.js';
import type { Resource, ResourceOf } from '../../shared/model/resource.js';
import { formatAge } from './age.js';
import { renderTable } from './table.js';

type Column<K extends Kind> = readonly [header: string, cell: (doc: ResourceOf<K>) => string];

const SPEC_COLUMNS: { readonly [K in Kind]: readonly Column<K>[] } = {
  Mesh: [
    ['TRUST DOMAIN', (d) => d.spec.trustDomain],
    ['MESH DOMAIN', (d) => d.spec.meshDomain ?? 'weft.internal'],
    ['DEFAULT', (d) => d.spec.defaultAction ?? 'deny'],
  ],
  Environment: [
    ['PROVIDER', (d) => d.spec.provider],
    ['REGION', (d) => d.spec.region],
    ['PRIORITY', (d) => String(d.spec.priority ?? 100)],
  ],
  Gateway: [
    ['ENVIRONMENT', (d) => d.spec.environment],
    ['ADDRESS', (d) => d.spec.address],
    ['EGRESS', (d) => d.spec.egressAddress ?? '<none>'],
  ],
  Service: [
    ['PROTOCOL', (d) => d.spec.protocol ?? 'http'],
    [
      'PORTS',
      (d) => d.spec.ports.map((p) => (p.targetPort ? `${p.port}:${p.targetPort}` : p.port)).join(','),
    ],
  ],
  Workload: [
    ['SERVICE', (d) => d.spec.service],
    ['ENVIRONMENT', (d) => d.spec.environment],
    ['ADDRESS', (d) => d.spec.address],
    ['WEIGHT', (d) => String(d.spec.weight ?? 1)],
  ],
  AccessPolicy: [
    ['SERVICE', (d) => d.spec.service],
    ['ACTION', (d) => d.spec.action],
    ['RULES', (d) => String(d.spec.rules.length)],
  ],
  Route: [
    ['SERVICE', (d) => d.spec.service],
    // The first rule is the one most routes have; RULES says when there are more.
    ['BACKENDS', (d) => d.spec.rules[0]!.backends.map((b) => `${b.environment}:${b.weight ?? 1}`).join(',')],
    ['FAILOVER', (d) => d.spec.rules[0]!.failover?.join(',') || '<none>'],
    ['RULES', (d) => String(d.spec.rules.length)],
  ],
};

export interface TableOptions {
  /** Show the NAMESPACE column (listing more than one namespace). */
  readonly namespaceColumn: boolean;
  /** @default Date.now() */
  readonly now?: number;
}

/** Renders documents of one kind as a table. */
export function renderResourceTable(kind: Kind, docs: readonly Resource[], options: TableOptions): string {
  const columns = SPEC_COLUMNS[kind] as readonly Column<Kind>[];
  const withNamespace = options.namespaceColumn && KIND_INFO[kind].namespaced;
  const headers = [
    ...(withNamespace ? ['NAMESPACE'] : []),
    'NAME',
    ...columns.map(([h]) => h),
    'VERSION',
    'AGE',
  ];
  const rows = docs.map((doc) => [
    ...(withNamespace ? [doc.metadata.namespace ?? ''] : []),
    doc.metadata.name,
    ...columns.map(([, cell]) => cell(doc as ResourceOf<Kind>)),
    doc.status?.version ?? '',
    formatAge(doc.status?.updatedAt, options.now),
  ]);
  return renderTable(headers, rows);
}
