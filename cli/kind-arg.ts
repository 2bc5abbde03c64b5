/**
 * The KIND argument of `get` and `delete`: any alias the model knows
 * (`svc`, `services`, `Service`, `ap`), or a usage error listing them.
 *
 * @module
 */
import { KIND_INFO, KINDS, type Kind, resolveKind } from '../shared/model/kinds.js';
import { UsageError } from './errors.js';

/**
 * @throws UsageError naming the kinds there are.
 * @example kindArg('svc', 'get') // 'Service'
 */
export function kindArg(alias: string, command: string): Kind {
  const kind = resolveKind(alias);
  if (!kind) {
    const known = KINDS.map((k) => KIND_INFO[k].plural).join(', ');
    throw new UsageError(`unknown kind "${alias}": use one of ${known}`, command);
  }
  return kind;
}

/** `service`, `accesspolicy`: how kubectl-style output names a kind. */
export function kindLabel(kind: Kind): string {
  return kind.toLowerCase();
}
