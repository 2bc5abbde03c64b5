/**
 * The egress gateway: an HTTP/1.1 listener for local workloads. It serves
 * both forward-proxy requests (absolute-form targets, so `HTTP_PROXY` and
 * `curl -x` work) and plain requests whose `Host` names a mesh service
 * (`<service>.<namespace>.<meshDomain>`). It identifies the caller, picks a
 * route and an environment, and forwards over mTLS to that environment's
 * gateway with the caller's JWT-SVID and a `traceparent` for this hop.
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { MAX_TIMER_MS, timerDelay } from '../../../shared/model/duration.js';
import { WeftError } from '../../../shared/model/errors.js';
import { identifyCaller } from './caller-identity.js';
import { type DataPlaneContext, TIMEOUT_HEADER } from './context.js';
import { DEFAULT_TIMEOUT_MS, forward } from './egress-forward.js';
import { BadProxyRequestError, NoRouteError, UnknownServiceError } from './errors.js';
import { hasBody, hopHeaders, readBody, SOURCE_IDENTITY_HEADER, sendProblem } from './http-util.js';
import { headerValue } from './match.js';
import { normalizePath, splitTarget } from './path.js';
import { selectRoute } from './route.js';
import { hostName } from './snapshot-index.js';
import type { CallRecord } from './telemetry.js';
import { continueTrace } from './trace-context.js';
import { type CallControl, stopCall } from './upstream.js';

/** What the egress never hands on as it came: it sets each of these itself. */
const REPLACED = new Set(['authorization', SOURCE_IDENTITY_HEADER, 'traceparent', TIMEOUT_HEADER]);

/** The service host and origin-form target of a proxy or direct request. */
export function proxyTarget(req: IncomingMessage): { host: string; path: string; query: string } {
  const url = req.url ?? '';
  if (req.method === 'CONNECT')
    throw new BadProxyRequestError(
      'CONNECT tunnels are not offered: call http:// URLs, the mesh adds mTLS',
      501,
    );
  if (url.startsWith('/')) {
    const { path, query } = splitTarget(url);
    return { host: hostName(req.headers.host), path: normalizePath(path), query };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new BadProxyRequestError(`not a request target: ${JSON.stringify(url.slice(0, 200))}`);
  }
  if (parsed.protocol !== 'http:') throw new BadProxyRequestError('only http:// targets go through the mesh');
  return { host: hostName(parsed.host), path: normalizePath(parsed.pathname), query: parsed.search };
}

async function handle(ctx: DataPlaneContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const startedAt = performance.now();
  const index = ctx.index();
  const trace = continueTrace(headerValue(req.headers, 'traceparent'));
  const method = req.method ?? 'GET';
  const record: { -readonly [K in keyof CallRecord]: CallRecord[K] } = {
    direction: 'outbound',
    source: 'unknown',
    destination: 'unknown',
    environment: '',
    method,
    path: '',
    status: 0,
    startedAt,
    trace,
  };
  const control: CallControl = { current: undefined, stopped: undefined };
  let timer: NodeJS.Timeout | undefined;
  res.on('close', () => {
    clearTimeout(timer);
    // The caller went away before its answer was done: nothing upstream is wanted any more.
    if (!res.writableFinished) stopCall(control, 'gone', new Error('the caller went away'));
    record.status = res.headersSent ? res.statusCode : 499;
    ctx.telemetry.record(record);
  });
  try {
    const target = proxyTarget(req);
    record.path = target.path;
    const service = index.egress.get(target.host);
    if (!service) throw new UnknownServiceError(target.host);
    record.destination = service.spiffeId;
    let caller = identifyCaller(req, index, ctx.verifier());
    // A cached token is the rule: no promise for it.
    if (caller instanceof Promise) caller = await caller;
    record.source = caller.spiffeId;
    const rule = selectRoute({ method, path: target.path, headers: req.headers }, service);
    if (!rule && service.routes.length > 0) throw new NoRouteError(service.host, method, target.path);
    const timeoutMs = rule?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    // 0 is a Route's `timeout: 0s`: no deadline here, so no timer at all.
    const delay = timerDelay(timeoutMs);
    if (delay !== undefined) {
      timer = setTimeout(
        () => stopCall(control, 'deadline', new Error(`deadline of ${delay} ms passed`)),
        delay,
      );
    }
    const body = hasBody(req) ? await readBody(req, ctx.limits.maxRequestBodyBytes) : undefined;
    const headers = hopHeaders(req.headers, REPLACED, service.host, trace);
    // Without a deadline, ask the ingress for the longest wait it allows (it caps what it is asked).
    headers.push(TIMEOUT_HEADER, `${delay ?? MAX_TIMER_MS}`);
    if (caller.token) headers.push('authorization', `Bearer ${caller.token}`);
    else headers.push(SOURCE_IDENTITY_HEADER, caller.spiffeId);
    await forward(ctx, index, {
      service,
      rule,
      method,
      path: `${target.path}${target.query}`,
      headers,
      body,
      res,
      control,
      note: record,
    });
  } catch (error) {
    record.error = error instanceof Error ? error.message : String(error);
    if (!(error instanceof WeftError)) ctx.logger.error({ err: error }, 'egress failed unexpectedly');
    sendProblem(res, error);
  }
}

/** The egress listener (not yet listening). */
export function createEgressServer(ctx: DataPlaneContext): Server {
  const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, (req, res) => {
    handle(ctx, req, res).catch((error: unknown) => {
      ctx.logger.error({ err: error }, 'egress handler failed');
      sendProblem(res, error);
    });
  });
  return server;
}
