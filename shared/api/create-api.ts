/**
 * The whole REST API as one cloud-agnostic function. Every edge (Lambda,
 * Cloud Functions, Azure Functions, the local host) calls this and nothing
 * else.
 *
 * @module
 */

import type { IdentityService } from '../identity/identity-service.js';
import { NotFoundError, type WeftError } from '../model/errors.js';
import type { HybridLogicalClock } from '../model/hlc.js';
import { DEFAULT_NAMESPACE, KIND_INFO, KINDS, type Kind, type ResourceKey } from '../model/kinds.js';
import type { Replication } from '../replication/replication.js';
import { present, ResourceService, type WriteResult } from '../resources/resource-service.js';
import { parseLabelSelector } from '../storage/label-selector.js';
import type { StateStore, StoredRecord } from '../storage/state-store.js';
import { bodyFormat, parseMany, parseOne } from './body.js';
import { addDistributionRoutes, type DistributionApiOptions } from './gateway-routes.js';
import { addIdentityRoutes } from './identity-routes.js';
import { openApiDocument } from './openapi.js';
import { type Authenticator, type Operator, requireAdmin } from './operator-auth.js';
import { problemResponse } from './problem.js';
import { addRegistrationRoutes, type RegistrationApiOptions } from './registration-routes.js';
import { addReplicationRoutes } from './replication-routes.js';
import { checkPathLabel, gateRequestPath } from './request-gate.js';
import { type Handler, type Handlers, type Params, Router } from './router.js';
import { type Api, type ApiRequest, json } from './types.js';

/** Where the API reports what it did; JSON lines in every host. Never gets a token. */
export interface ApiLogger {
  info(event: Record<string, unknown>): void;
  /** Something refused or given up on that needs no one woken. @default info */
  warn?(event: Record<string, unknown>): void;
  error(event: Record<string, unknown>): void;
}

export interface ApiOptions {
  readonly store: StateStore;
  /** This control plane's clock; its node is the origin written on every record. */
  readonly hlc: HybridLogicalClock;
  readonly authenticate: Authenticator;
  readonly logger?: ApiLogger;
  /**
   * Workload identity (`/v1/bundle`, `/v1/join-tokens`, `/v1/attest`,
   * `/v1/svid/*`). @default none: those paths answer 404, saying so
   */
  readonly identity?: IdentityService;
  /**
   * Config distribution (`/v1/gateways/{env}/{name}/snapshot` and `/status`,
   * `/v1/changes/{version}/convergence`). @default none: those paths answer 404, saying so
   */
  readonly distribution?: DistributionApiOptions;
  /**
   * Called with the records of every write the API stored (PUT, DELETE,
   * apply; not unchanged documents or dry runs), after the store write and
   * before the response: where the change publisher hooks in. A failure is
   * logged, never answered: the write is stored, and the sweep publishes it.
   * @default none
   */
  readonly onWrite?: (records: readonly StoredRecord[]) => Promise<void>;
  /**
   * Replication with peer clouds (`/v1/replication/*`). @default none:
   * those paths answer 404, saying so
   */
  readonly replication?: Replication;
  /**
   * Registration from cloud tags (`GET /v1/registration`). @default none:
   * that path answers 404, saying so
   */
  readonly registration?: RegistrationApiOptions;
  /** @default Date.now */
  readonly now?: () => number;
}

const BY_PLURAL = new Map<string, Kind>(KINDS.map((k) => [KIND_INFO[k].plural, k]));
const SILENT: ApiLogger = { info() {}, error() {} };

/**
 * @example
 * const api = createApi({ store: new MemoryStateStore(), hlc: new HybridLogicalClock('local'), authenticate });
 * const response = await api({ method: 'GET', path: '/healthz', query: {}, headers: {} });
 */
export function createApi(options: ApiOptions): Api {
  const service = new ResourceService({
    store: options.store,
    hlc: options.hlc,
    ...(options.now && { now: options.now }),
  });
  const logger = options.logger ?? SILENT;
  const router = new Router();
  const openApi = () => json(200, openApiDocument());
  router
    .add('/healthz', { GET: healthz, HEAD: healthz }, { strict: true })
    .add('/v1/openapi.json', { GET: openApi, HEAD: openApi }, { strict: true });
  addIdentityRoutes(router, { identity: options.identity, authenticate: options.authenticate, logger });
  addDistributionRoutes(router, options.distribution, {
    authenticate: options.authenticate,
    ...(options.now && { now: options.now }),
  });
  addReplicationRoutes(router, options.replication, {
    authenticate: options.authenticate,
    ...(options.now && { now: options.now }),
  });
  addRegistrationRoutes(router, options.registration, { authenticate: options.authenticate });

  // Every other `/v1/...` path takes an operator token, checked before its method or its 404.
  const asOperator = { before: (req: ApiRequest) => options.authenticate(req.headers.authorization) };
  const apply: Handler<Operator> = async (req, _params, operator) => {
    requireAdmin(operator);
    const dryRun = req.query.dryRun === 'true';
    const results = await service.apply(parseMany(req.body, bodyFormat(req.headers['content-type'])), dryRun);
    if (!dryRun) await written(results);
    log(operator, 'apply', results);
    return json(200, { dryRun, results: results.map(summarize) });
  };
  router.add('/v1/apply', { POST: apply }, asOperator);
  for (const kind of KINDS) {
    const { plural, namespaced } = KIND_INFO[kind];
    const list: Handler<Operator> = async (req, { namespace }) => {
      if (namespace !== undefined) checkPathLabel('namespace', namespace);
      const selector = req.query.labelSelector ? parseLabelSelector(req.query.labelSelector) : undefined;
      const records = await service.list(kind, namespace, selector);
      return json(200, { apiVersion: 'weft.dev/v1', kind: `${kind}List`, items: records.map(present) });
    };
    const item = itemHandlers(kind);
    router.add(`/v1/${plural}`, { GET: list, HEAD: list }, asOperator);
    if (namespaced) {
      router.add(`/v1/${plural}/:namespace`, { GET: list, HEAD: list }, asOperator);
      router.add(`/v1/${plural}/:namespace/:name`, item, asOperator);
    } else router.add(`/v1/${plural}/:name`, item, asOperator);
  }
  const beyond: Handler<Operator> = (req, { type }) => {
    if (BY_PLURAL.has(type!)) throw new NotFoundError(`no such endpoint: ${req.path}`);
    throw new NotFoundError(
      `unknown resource type "${type}"; use one of ${KINDS.map((k) => KIND_INFO[k].plural).join(', ')}`,
    );
  };
  router.add('/v1/:type/*', { '*': beyond }, asOperator);

  /** GET, HEAD, PUT and DELETE of one resource of `kind`. */
  function itemHandlers(kind: Kind): Handlers<Operator> {
    /** The key the path names, its names checked before any store sees them. */
    const keyOf = ({ namespace, name }: Params): ResourceKey => {
      if (namespace !== undefined) checkPathLabel('namespace', namespace);
      checkPathLabel('name', name!);
      return { kind, namespace: namespace ?? '', name: name! };
    };
    const get: Handler<Operator> = async (req, params) => {
      const record = await service.get(keyOf(params));
      if (unquote(req.headers['if-none-match']) === record.version) {
        return { status: 304, headers: { etag: etag(record) }, body: '' };
      }
      return json(200, present(record), { etag: etag(record) });
    };
    const put: Handler<Operator> = async (req, params, operator) => {
      requireAdmin(operator);
      const key = keyOf(params);
      const input = withDefaultNamespace(parseOne(req.body, bodyFormat(req.headers['content-type'])), key);
      const result = await service.put(input, key, unquote(req.headers['if-match']));
      await written([result]);
      if (result.action !== 'unchanged') log(operator, 'put', [result]);
      return json(result.action === 'created' ? 201 : 200, present(result.record), {
        etag: etag(result.record),
      });
    };
    const remove: Handler<Operator> = async (req, params, operator) => {
      requireAdmin(operator);
      const result = await service.delete(keyOf(params), unquote(req.headers['if-match']));
      await written([result]);
      log(operator, 'delete', [result]);
      return json(200, summarize(result));
    };
    return { GET: get, HEAD: get, PUT: put, DELETE: remove };
  }

  /** Hands stored writes to `onWrite`; a failure there must not fail a write that is already stored. */
  async function written(results: readonly WriteResult[]): Promise<void> {
    const records = results.filter((r) => r.action !== 'unchanged').map((r) => r.record);
    if (!options.onWrite || records.length === 0) return;
    try {
      await options.onWrite(records);
    } catch (error) {
      logger.error({ msg: 'publishing writes failed; the sweep publishes them', error: String(error) });
    }
  }

  function log(operator: Operator, op: string, results: readonly WriteResult[]): void {
    for (const r of results) {
      logger.info({ msg: 'resource written', op, operator: operator.subject, ...summarize(r) });
    }
  }

  return async (req) => {
    try {
      gateRequestPath(req.path);
      const res = await router.handle(req);
      return req.method.toUpperCase() === 'HEAD' ? { ...res, body: '' } : res;
    } catch (error) {
      if (!(error as WeftError).code)
        logger.error({ msg: 'unexpected error', path: req.path, error: String(error) });
      return problemResponse(error, req.path);
    }
  };
}

const healthz = () => json(200, { status: 'ok' });

function summarize(result: WriteResult) {
  const { key, version } = result.record;
  return {
    kind: key.kind,
    ...(key.namespace && { namespace: key.namespace }),
    name: key.name,
    action: result.action,
    ...(version && { version }),
  };
}

const etag = (record: StoredRecord) => `"${record.version}"`;

/** `"v"` or `W/"v"` to `v`; `*` stays `*`. */
function unquote(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const trimmed = header.trim();
  return trimmed === '*' ? '*' : trimmed.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

/** A PUT to a namespaced path may leave the namespace out of the document. */
function withDefaultNamespace(input: unknown, key: ResourceKey): unknown {
  if (!key.namespace || key.namespace === DEFAULT_NAMESPACE) return input;
  const meta = (input as { metadata?: Record<string, unknown> } | null)?.metadata;
  if (meta && typeof meta === 'object' && meta.namespace === undefined) {
    return { ...(input as object), metadata: { ...meta, namespace: key.namespace } };
  }
  return input;
}
