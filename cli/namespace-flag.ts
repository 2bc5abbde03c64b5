/**
 * The `-n NAMESPACE` flag, checked before it becomes part of a URL.
 *
 * @module
 */
import { DNS1123_LABEL } from '../shared/model/names.js';
import { type FlagValues, stringFlag } from './command.js';
import { UsageError } from './errors.js';

/**
 * @returns the namespace, or `undefined` when `-n` was not given.
 * @throws UsageError when it is not a DNS-1123 label (no such namespace can exist).
 */
export function namespaceFlag(values: FlagValues, command: string): string | undefined {
  const namespace = stringFlag(values, 'namespace');
  if (namespace !== undefined && !DNS1123_LABEL.test(namespace)) {
    throw new UsageError(
      `namespace "${namespace}" is not a DNS-1123 label (lowercase letters, digits and "-")`,
      command,
    );
  }
  return namespace;
}
