/**
 * kubectl-style result lines: `service/orders (shop) created`.
 *
 * @module
 */
import { type Kind, resolveKind } from '../../shared/model/kinds.js';

/** One entry of the API's apply or delete answer. */
export interface ActionResult {
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
  readonly action: string;
  readonly version?: string;
}

/**
 * @example formatAction({ kind: 'Service', namespace: 'shop', name: 'orders', action: 'created' }, true)
 * // 'service/orders (shop) created (dry run)'
 */
export function formatAction(result: ActionResult, dryRun = false): string {
  const kind: Kind | undefined = resolveKind(result.kind);
  const where = result.namespace ? ` (${result.namespace})` : '';
  return `${(kind ?? result.kind).toLowerCase()}/${result.name}${where} ${result.action}${dryRun ? ' (dry run)' : ''}`;
}

/** `12 created, 3 unchanged`, in a fixed order. */
export function countActions(results: readonly ActionResult[]): string {
  const counts = new Map<string, number>();
  for (const r of results) counts.set(r.action, (counts.get(r.action) ?? 0) + 1);
  return ['created', 'configured', 'unchanged', 'deleted']
    .filter((a) => counts.has(a))
    .map((a) => `${counts.get(a)} ${a}`)
    .join(', ');
}
