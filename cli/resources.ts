/**
 * Reading resources for `get` and `delete`, and finding one by name when the
 * operator gave no namespace.
 *
 * @module
 */
import { KIND_INFO, type Kind } from '../shared/model/kinds.js';
import type { Resource } from '../shared/model/resource.js';
import type { ApiClient } from './api-client.js';
import { RequestError } from './errors.js';
import { kindLabel } from './kind-arg.js';

/** The API's answer to a list request. */
export interface ResourceList {
  readonly apiVersion: string;
  readonly kind: string;
  readonly items: readonly Resource[];
}

/** `/v1/services/shop/orders`, `/v1/environments/aws`, `/v1/services/shop`, `/v1/services`. */
export function apiPath(kind: Kind, namespace?: string, name?: string): string {
  const segments = [KIND_INFO[kind].plural, namespace, name].filter((s): s is string => Boolean(s));
  return `/v1/${segments.map(encodeURIComponent).join('/')}`;
}

/** How to see what does exist, said after a 404. */
export function listHint(kind: Kind): string {
  return `list what exists with \`weft get ${KIND_INFO[kind].plural}\``;
}

/**
 * One resource by name. For a namespaced kind without a namespace it looks in
 * every namespace: the name is enough when it is unique, and when it is not,
 * the error names the namespaces to choose from.
 *
 * @throws RequestError when it does not exist or the name is ambiguous.
 */
export async function findResource(
  client: ApiClient,
  kind: Kind,
  name: string,
  namespace: string | undefined,
): Promise<Resource> {
  if (!KIND_INFO[kind].namespaced || namespace !== undefined) {
    const path = apiPath(kind, KIND_INFO[kind].namespaced ? namespace : undefined, name);
    return client.request<Resource>('GET', path, { notFoundHint: listHint(kind) });
  }
  const { items } = await client.request<ResourceList>('GET', apiPath(kind));
  const matches = items.filter((doc) => doc.metadata.name === name);
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) {
    throw new RequestError(`${kindLabel(kind)}/${name} does not exist in any namespace; ${listHint(kind)}`);
  }
  const namespaces = matches.map((doc) => doc.metadata.namespace).join(', ');
  throw new RequestError(
    `${kindLabel(kind)}/${name} exists in namespaces ${namespaces}: pick one with -n NAMESPACE`,
  );
}
