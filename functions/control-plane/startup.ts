/**
 * What every cloud's composition root shares: configuration read from
 * environment variables and checked all at once at start-up, the JSON-lines
 * logger, and composing the control plane once per cold start. Cloud-agnostic: the
 * cloud-specific parts (which store, which table) stay in `functions/<cloud>`.
 *
 * @module
 */
import type { JSONWebKeySet } from 'jose';
import type { ApiLogger } from '../../shared/api/create-api.js';
import { createOperatorAuthenticator, type OperatorAuthOptions } from '../../shared/api/operator-auth.js';
import type { Api } from '../../shared/api/types.js';
import type { Provider } from '../../shared/model/specs.js';
import type { StateStore } from '../../shared/storage/state-store.js';
import { type ControlPlane, type ControlPlanePorts, composeControlPlane } from './compose-control-plane.js';

/** Environment variables, as `process.env` holds them. */
export type Env = Readonly<Record<string, string | undefined>>;

/** Configuration a deployment cannot start with. Thrown once, naming every problem. */
export class ConfigurationError extends Error {
  /** The variables to fix. */
  readonly variables: readonly string[];

  constructor(message: string, variables: readonly string[]) {
    super(message);
    this.name = 'ConfigurationError';
    this.variables = variables;
  }
}

/**
 * Reads variables and collects what is missing or wrong, so that one failed
 * start names everything to fix instead of one variable per deploy.
 *
 * @example
 * const config = new EnvConfig(process.env);
 * const table = config.require('WEFT_TABLE_NAME');
 * config.check('weft on AWS'); // throws ConfigurationError if anything was missing
 */
export class EnvConfig {
  private readonly issues: { name: string; detail: string }[] = [];

  constructor(readonly env: Env) {}

  /** The trimmed value; when unset or blank, records it as missing and returns `''`. */
  require(name: string, detail = 'is not set'): string {
    const value = this.optional(name);
    if (value === undefined) this.invalid(name, detail);
    return value ?? '';
  }

  /** The trimmed value, or `undefined` when unset or blank. */
  optional(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value ? value : undefined;
  }

  /** Records a variable whose value cannot be used. */
  invalid(name: string, detail: string): void {
    this.issues.push({ name, detail });
  }

  /** True while nothing is missing or wrong. */
  get ok(): boolean {
    return this.issues.length === 0;
  }

  /** @throws ConfigurationError naming every missing and wrong variable. */
  check(where: string): void {
    if (this.ok) return;
    const lines = this.issues.map((i) => `  ${i.name} ${i.detail}`).join('\n');
    throw new ConfigurationError(
      `${where} cannot start; fix these environment variables:\n${lines}`,
      this.issues.map((i) => i.name),
    );
  }
}

/**
 * Operator authentication from `WEFT_OPERATOR_ISSUER`, `WEFT_OPERATOR_AUDIENCE`,
 * `WEFT_OPERATOR_JWKS_URL` (https) or `WEFT_OPERATOR_JWKS` (the key set as
 * JSON), and optionally `WEFT_OPERATOR_ROLE_CLAIM`. Problems go to `config`.
 */
export function operatorAuthFromEnv(config: EnvConfig): OperatorAuthOptions {
  const issuer = config.require('WEFT_OPERATOR_ISSUER', 'is not set: the OIDC issuer of operator tokens');
  const audience = config.require('WEFT_OPERATOR_AUDIENCE', 'is not set: the audience operator tokens carry');
  const roleClaim = config.optional('WEFT_OPERATOR_ROLE_CLAIM');
  const url = config.optional('WEFT_OPERATOR_JWKS_URL');
  const inline = config.optional('WEFT_OPERATOR_JWKS');
  let jwks: URL | JSONWebKeySet = { keys: [] };
  if (url !== undefined && inline !== undefined) {
    config.invalid('WEFT_OPERATOR_JWKS_URL', 'and WEFT_OPERATOR_JWKS are both set; set one of them');
  } else if (url !== undefined) {
    jwks = jwksUrl(config, url) ?? jwks;
  } else if (inline !== undefined) {
    jwks = inlineJwks(config, inline) ?? jwks;
  } else {
    config.invalid(
      'WEFT_OPERATOR_JWKS_URL',
      '(or WEFT_OPERATOR_JWKS) is not set: where the keys of operator tokens are',
    );
  }
  return { jwks, issuer, audience, ...(roleClaim && { roleClaim }) };
}

function jwksUrl(config: EnvConfig, text: string): URL | undefined {
  const url = URL.canParse(text) ? new URL(text) : undefined;
  // Keys fetched over plain HTTP could be swapped in transit; loopback is for local tests only.
  const loopback =
    url?.hostname === 'localhost' || url?.hostname === '127.0.0.1' || url?.hostname === '[::1]';
  if (url?.protocol === 'https:' || (url?.protocol === 'http:' && loopback)) return url;
  config.invalid('WEFT_OPERATOR_JWKS_URL', `must be an https URL, got ${JSON.stringify(text)}`);
  return undefined;
}

function inlineJwks(config: EnvConfig, text: string): JSONWebKeySet | undefined {
  try {
    const value = JSON.parse(text) as { keys?: unknown };
    if (Array.isArray(value?.keys) && value.keys.length > 0) {
      const wellFormed = (k: unknown) => typeof k === 'object' && k !== null && 'kty' in k;
      if (value.keys.every(wellFormed)) return value as JSONWebKeySet;
    }
  } catch {
    // Reported below, with the same message as a JSON value of the wrong shape.
  }
  config.invalid('WEFT_OPERATOR_JWKS', 'must be a JWKS as JSON: {"keys": [{"kty": ...}, ...]}');
  return undefined;
}

/**
 * Builds a store. Reads its variables through `config`, so that start-up
 * names every missing one together with the rest; does no I/O.
 */
export type StateStoreFactory = (config: EnvConfig) => StateStore;

/**
 * The store `WEFT_STATE_BACKEND` names (default `fallback`) among `backends`,
 * or the one `createStore` builds when a caller injects it. Problems go to
 * `config`; check it before using the store.
 */
export function stateStoreFromEnv(
  config: EnvConfig,
  backends: Readonly<Record<string, StateStoreFactory>>,
  fallback: string,
  createStore?: StateStoreFactory,
): StateStore | undefined {
  const name = config.optional('WEFT_STATE_BACKEND') ?? fallback;
  const factory = createStore ?? (Object.hasOwn(backends, name) ? backends[name] : undefined);
  if (!factory) {
    config.invalid(
      'WEFT_STATE_BACKEND',
      `selects the state store (default ${fallback}); this build has no "${name}" adapter ` +
        `(it has: ${Object.keys(backends).join(', ') || 'none yet'})`,
    );
    return undefined;
  }
  try {
    return factory(config);
  } catch (error) {
    // A store built from missing variables fails; the missing variables are the news.
    if (config.ok) throw error;
    return undefined;
  }
}

/** Logs JSON lines to the console, which every cloud's function runtime collects. */
export function consoleJsonLogger(fields: Record<string, unknown> = {}): ApiLogger {
  const line = (level: string, event: Record<string, unknown>) =>
    JSON.stringify({ time: new Date().toISOString(), level, ...fields, ...event });
  return {
    info: (event) => console.log(line('info', event)),
    warn: (event) => console.warn(line('warn', event)),
    error: (event) => console.error(line('error', event)),
  };
}

/**
 * A getter that builds `T` on its first call and keeps it for the life of
 * the instance: once per cold start, and never at import, so a module can be
 * imported (by tests, by the runtime's loader) without configuration. A
 * composition that throws is logged and thrown on every call: the
 * environment of an instance does not change, so there is nothing to retry.
 * One that returns a promise which rejects (a key service unreachable at a
 * cold start) is logged and tried afresh on the next call.
 */
export function onFirstCall<T>(compose: () => T, logger: ApiLogger = consoleJsonLogger()): () => T {
  let built: { value: T } | undefined;
  const failed = (error: unknown) =>
    logger.error({ msg: 'weft failed to start', error: (error as Error)?.message ?? String(error) });
  return () => {
    if (!built) {
      try {
        const value = compose();
        const kept = { value };
        built = kept;
        if (value instanceof Promise) {
          value.catch((error) => {
            failed(error);
            if (built === kept) built = undefined;
          });
        }
      } catch (error) {
        failed(error);
        throw error;
      }
    }
    return built.value;
  };
}

/** An Api that composes the real one on its first call ({@link onFirstCall}). */
export function composeOnFirstCall(
  compose: () => Api | Promise<Api>,
  logger: ApiLogger = consoleJsonLogger(),
): Api {
  const api = onFirstCall(compose, logger);
  return async (request) => (await api())(request);
}

/** What a cloud's composition root says about itself. */
export interface CloudApiOptions {
  /** The HLC node, the issuing provider and the `cloud` field of every log line. */
  readonly cloud: Provider;
  /** Named in start-up errors: `weft on GCP`. */
  readonly where: string;
  /** The stores `WEFT_STATE_BACKEND` may select, and which one it selects by default. */
  readonly backends: Readonly<Record<string, StateStoreFactory>>;
  readonly defaultBackend: string;
  /** @default the backend `WEFT_STATE_BACKEND` selects */
  readonly createStore?: StateStoreFactory | undefined;
  /** @default JSON lines on the console */
  readonly logger?: ApiLogger | undefined;
  /** The cloud's adapters that have landed; each one absent turns its part off ({@link ControlPlanePorts}). */
  readonly ports?: CloudPorts | undefined;
}

/** The optional ports a cloud root passes through to {@link composeControlPlane}. */
export type CloudPorts = Partial<
  Pick<ControlPlanePorts, 'openCa' | 'joinTokens' | 'blobs' | 'bus' | 'fetch' | 'attestRateLimit'>
>;

/**
 * The control plane of one cloud from its environment: operator auth and
 * the state store, every problem named at once, then the one assembly
 * ({@link composeControlPlane}) over whatever adapters the cloud has. Does no I/O.
 *
 * @throws ConfigurationError naming every missing or malformed variable.
 */
export function composeCloudControlPlane(env: Env, options: CloudApiOptions): ControlPlane {
  const config = new EnvConfig(env);
  const auth = operatorAuthFromEnv(config);
  const store = stateStoreFromEnv(config, options.backends, options.defaultBackend, options.createStore);
  config.check(options.where);
  return composeControlPlane({
    cloud: options.cloud,
    store: store!,
    authenticate: createOperatorAuthenticator(auth),
    logger: options.logger ?? consoleJsonLogger({ cloud: options.cloud }),
    ...options.ports,
  });
}
