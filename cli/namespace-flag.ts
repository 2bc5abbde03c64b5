/**
 * The `-n NAMESPACE` flag and a command's NAME, checked before they become
 * part of a URL: a name no resource can have is a usage error (exit 2), not
 * the API's refusal of the path.
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
  if (namespace !== undefined) checkLabel('namespace', namespace, command);
  return namespace;
}

/**
 * @returns `name`, the NAME positional.
 * @throws UsageError when it is not a DNS-1123 label.
 */
export function nameArg(name: string, command: string): string {
  checkLabel('NAME', name, command);
  return name;
}

function checkLabel(what: string, value: string, command: string): void {
  if (DNS1123_LABEL.test(value)) return;
  const shown = value.length > 63 ? `${value.slice(0, 63)}...` : value;
  throw new UsageError(
    `${what} "${shown}" is not a DNS-1123 label (at most 63 lowercase letters, digits and "-")`,
    command,
  );
}
