/**
 * The tag schema a cloud resource carries to be registered as a `Workload`
 * (docs/registration.md §1). The key spelling is configuration, not code:
 * AWS tags and Azure tags take `weft:service`, Google Cloud labels (lowercase
 * `[a-z0-9_-]`, no `:`) take `weft-service`; the values and their rules are
 * the same everywhere.
 *
 * | key | |
 * |---|---|
 * | `<prefix>service` | required: a Service of that name in the namespace |
 * | `<prefix>port` | required: 1 to 65535 |
 * | `<prefix>namespace` | a DNS label. Default: `default` |
 * | `<prefix>environment` | an Environment's name. Default: the registrar's configured default |
 * | `<prefix>weight` | 0 to 1000. Default: the Workload's own (1) |
 *
 * @module
 */
import { DEFAULT_NAMESPACE } from '../model/kinds.js';
import { DNS1123_LABEL } from '../model/names.js';

/** How one cloud spells the tag keys. */
export interface TagSchemaOptions {
  /**
   * Put before every key: `weft:` (AWS, Azure), `weft-` (Google Cloud labels).
   * @default 'weft:'
   */
  readonly prefix?: string;
  /**
   * The Environment of a resource without an `<prefix>environment` tag.
   * @default none: that tag is then required
   */
  readonly defaultEnvironment?: string;
}

/** The five keys, as one cloud spells them. */
export interface TagKeys {
  readonly service: string;
  readonly namespace: string;
  readonly port: string;
  readonly environment: string;
  readonly weight: string;
}

/** What valid tags say. */
export interface RegistrationTags {
  readonly service: string;
  readonly namespace: string;
  readonly port: number;
  readonly environment: string;
  readonly weight?: number;
}

/** What a resource's tags amount to. */
export type TagReading =
  /** No key with the prefix: the resource is not weft's (nothing to report). */
  | { readonly kind: 'none' }
  /** Some keys with the prefix, but not a registration: each reason names the key. */
  | { readonly kind: 'invalid'; readonly reasons: readonly string[] }
  | { readonly kind: 'valid'; readonly tags: RegistrationTags };

export const DEFAULT_TAG_PREFIX = 'weft:';
const PREFIX = /^[a-z][a-z0-9]{0,15}[:_-]$/;

/**
 * The keys under `prefix`.
 *
 * @throws TypeError when `prefix` is not 1-16 lowercase letters and digits followed by `:`, `_` or `-`.
 * @example
 * tagKeys('weft-').service; // 'weft-service' (Google Cloud labels)
 */
export function tagKeys(prefix: string = DEFAULT_TAG_PREFIX): TagKeys {
  if (!PREFIX.test(prefix)) throw new TypeError(`not a tag prefix: ${JSON.stringify(prefix)}`);
  return {
    service: `${prefix}service`,
    namespace: `${prefix}namespace`,
    port: `${prefix}port`,
    environment: `${prefix}environment`,
    weight: `${prefix}weight`,
  };
}

/**
 * Checks a configured default environment at start-up.
 *
 * @throws TypeError when it is not a DNS label.
 */
export function checkTagSchemaOptions(options: TagSchemaOptions): void {
  tagKeys(options.prefix);
  const env = options.defaultEnvironment;
  if (env !== undefined && !DNS1123_LABEL.test(env))
    throw new TypeError(`the default environment must be a DNS-1123 label, got ${JSON.stringify(env)}`);
}

/**
 * Reads a resource's tags. Keys are matched exactly (cloud tag keys are
 * case-sensitive); values are trimmed.
 *
 * @example
 * readRegistrationTags({ 'weft:service': 'orders', 'weft:port': '8080' }, { defaultEnvironment: 'aws' });
 * // { kind: 'valid', tags: { service: 'orders', namespace: 'default', port: 8080, environment: 'aws' } }
 */
export function readRegistrationTags(
  tags: Readonly<Record<string, string>>,
  options: TagSchemaOptions = {},
): TagReading {
  const prefix = options.prefix ?? DEFAULT_TAG_PREFIX;
  const keys = tagKeys(prefix);
  if (!Object.keys(tags).some((k) => k.startsWith(prefix))) return { kind: 'none' };
  const value = (key: string) => {
    const v = Object.hasOwn(tags, key) ? tags[key]?.trim() : undefined;
    return v === '' ? undefined : v;
  };
  const reasons: string[] = [];
  const label = (key: string, fallback?: string) => {
    const v = value(key) ?? fallback;
    if (v === undefined) reasons.push(`${key} is missing`);
    else if (!DNS1123_LABEL.test(v))
      reasons.push(`${key}=${show(v)} is not a DNS label (lowercase letters, digits, "-"; at most 63)`);
    return v ?? '';
  };
  const integer = (key: string, min: number, max: number) => {
    const v = value(key);
    if (v === undefined) return undefined;
    const n = /^[0-9]{1,7}$/.test(v) ? Number(v) : Number.NaN;
    if (!(n >= min && n <= max))
      reasons.push(`${key}=${show(v)} is not a whole number from ${min} to ${max}`);
    return n;
  };
  const service = label(keys.service);
  const namespace = label(keys.namespace, DEFAULT_NAMESPACE);
  const noEnvironment = value(keys.environment) === undefined && options.defaultEnvironment === undefined;
  if (noEnvironment) reasons.push(`${keys.environment} is missing and no default environment is configured`);
  const environment = noEnvironment ? '' : label(keys.environment, options.defaultEnvironment);
  const port = integer(keys.port, 1, 65535);
  if (value(keys.port) === undefined) reasons.push(`${keys.port} is missing`);
  const weight = integer(keys.weight, 0, 1000);
  if (reasons.length > 0) return { kind: 'invalid', reasons };
  return {
    kind: 'valid',
    tags: { service, namespace, port: port!, environment, ...(weight !== undefined && { weight }) },
  };
}

/** A tag value in a message: quoted, and cut short (values are the untrusted part). */
function show(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}
