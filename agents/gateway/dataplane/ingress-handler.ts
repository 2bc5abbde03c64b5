/**
 * One inbound call at the ingress gateway: the calling gateway is already
 * authenticated by mTLS; the workload behind it is authenticated by its
 * JWT-SVID, verified again here (or, where the Mesh allows it, vouched for
 * by that gateway). Then policy decides, the token is stripped, and the call
 * goes to a local endpoint by weighted round robin.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { timerDelay } from '../../../shared/model/duration.js';
import { UnauthenticatedError, WeftError } from '../../../shared/model/errors.js';
import { parseSpiffeId } from '../../../shared/model/names.js';
import { authorize } from './authorize.js';
import { type DataPlaneContext, TIMEOUT_HEADER } from './context.js';
import { AccessDeniedError, NoHealthyBackendError, UnknownServiceError, UpstreamError } from './errors.js';
import {
  bearerToken,
  hasBody,
  hopHeaders,
  readBody,
  SOURCE_IDENTITY_HEADER,
  sendProblem,
} from './http-util.js';
import { headerValue } from './match.js';
import { normalizePath, splitTarget } from './path.js';
import { hostName, type SnapshotIndex } from './snapshot-index.js';
import type { CallRecord } from './telemetry.js';
import { continueTrace } from './trace-context.js';
import { type CallControl, classifyFailure, stopCall, UpstreamAttempt } from './upstream.js';

/** The calling gateway's SPIFFE ID per TLS connection, set once at the handshake (see `ingress.ts`). */
export const gatewayPeers = new WeakMap<object, string>();

/** Endpoints tried per call when connecting fails (nothing was sent, so trying another is safe). */
const MAX_ENDPOINT_TRIES = 3;
/** What the ingress never hands on as it came: it sets each of these itself, or drops them. */
const REPLACED = new Set(['authorization', 'traceparent', TIMEOUT_HEADER, SOURCE_IDENTITY_HEADER]);
const relayAny = () => true;

/** The caller's SPIFFE ID: at once for a token verified before (the common case), else once it verifies. */
function sourceOf(
  ctx: DataPlaneContext,
  req: IncomingMessage,
  index: SnapshotIndex,
): string | Promise<string> {
  const token = bearerToken(req.headers, 'authorization');
  if (token) {
    const verifier = ctx.verifier();
    const known = verifier.cached(token, index.audience);
    return known ? known.spiffeId : verifier.verify(token, index.audience).then((v) => v.spiffeId);
  }
  const asserted = headerValue(req.headers, SOURCE_IDENTITY_HEADER);
  const { allowSourceAddress, trustDomain } = index.snapshot.mesh;
  const parsed = asserted === undefined ? undefined : parseSpiffeId(asserted);
  if (allowSourceAddress && parsed && parsed.path !== '' && parsed.trustDomain === trustDomain)
    return asserted!;
  throw new UnauthenticatedError('the call carries no workload JWT-SVID');
}

function timeoutOf(ctx: DataPlaneContext, req: IncomingMessage): number {
  const asked = Number(headerValue(req.headers, TIMEOUT_HEADER));
  if (!Number.isSafeInteger(asked) || asked <= 0) return ctx.limits.ingressTimeoutMs;
  return Math.min(asked, ctx.limits.maxIngressTimeoutMs);
}

/** Handles one request that arrived over an authenticated gateway connection. */
export async function handleInbound(
  ctx: DataPlaneContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const peer = gatewayPeers.get(req.socket);
  // Only connections whose peer proved to be a mesh gateway at the handshake get this far; belt and braces.
  if (!peer) {
    req.socket.destroy();
    return;
  }
  const index = ctx.index();
  const method = req.method ?? 'GET';
  const { path: rawPath, query } = splitTarget(req.url ?? '/');
  const path = normalizePath(rawPath);
  const record: { -readonly [K in keyof CallRecord]: CallRecord[K] } = {
    direction: 'inbound',
    source: 'unknown',
    destination: 'unknown',
    environment: ctx.environment,
    method,
    path,
    status: 0,
    startedAt: performance.now(),
    trace: continueTrace(headerValue(req.headers, 'traceparent')),
    peer,
  };
  const control: CallControl = { current: undefined, stopped: undefined };
  const timeoutMs = timerDelay(timeoutOf(ctx, req));
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(
          () => stopCall(control, 'deadline', new Error(`deadline of ${timeoutMs} ms passed`)),
          timeoutMs,
        );
  res.on('close', () => {
    clearTimeout(timer);
    if (!res.writableFinished) stopCall(control, 'gone', new Error('the calling gateway went away'));
    record.status = res.headersSent ? res.statusCode : 499;
    ctx.telemetry.record(record);
  });
  try {
    const host = hostName(req.headers.host);
    const service = index.ingress.get(host);
    if (!service) throw new UnknownServiceError(host);
    record.destination = service.spiffeId;
    let source = sourceOf(ctx, req, index);
    if (typeof source !== 'string') source = await source;
    record.source = source;
    const decision = authorize(
      { sourceIdentity: source, method, path, headers: req.headers },
      service.authorization.policies,
      index.snapshot.mesh.defaultAction,
    );
    record.decidedBy = decision.decidedBy;
    if (!decision.allowed) {
      ctx.telemetry.denied({
        source,
        destination: service.spiffeId,
        environment: ctx.environment,
        decidedBy: decision.decidedBy,
      });
      throw new AccessDeniedError(source, service.spiffeId, decision.decidedBy);
    }
    const body = hasBody(req) ? await readBody(req, ctx.limits.maxRequestBodyBytes) : undefined;
    const headers = hopHeaders(req.headers, REPLACED, service.host, record.trace);
    // What the service may trust: who called, as this gateway verified it.
    headers.push(SOURCE_IDENTITY_HEADER, source);
    const tries = Math.min(ctx.endpoints.live(service), MAX_ENDPOINT_TRIES);
    for (let attempt = 1; ; attempt++) {
      const endpoint = ctx.endpoints.next(service);
      if (!endpoint) throw new NoHealthyBackendError(`${service.host} has no endpoint taking calls here`);
      const sent = new UpstreamAttempt(res, relayAny);
      control.current = sent;
      await sent.send(ctx.endpoints.pool(endpoint.address), {
        method,
        path: `${path}${query}`,
        headers,
        body: body ?? null,
        headersTimeout: 0,
        bodyTimeout: 0,
      });
      if (sent.relaying) return;
      const failure = classifyFailure(sent.error, control.stopped !== undefined);
      if (failure !== 'connect-failure' || attempt >= tries)
        throw new UpstreamError(failure, `${failure} calling endpoint ${endpoint.address}`, {
          cause: sent.error,
        });
    }
  } catch (error) {
    record.error = error instanceof Error ? error.message : String(error);
    if (!(error instanceof WeftError)) ctx.logger.error({ err: error }, 'ingress failed unexpectedly');
    sendProblem(res, error, error instanceof AccessDeniedError ? { decidedBy: error.decidedBy } : {});
  }
}
