/**
 * One outbound call's attempts: choose an environment, dial one of its
 * gateways, and retry by the rule's policy. Retries resend the buffered
 * body, prefer an environment not yet tried, stay within the per-try
 * timeout and the whole-call deadline, and draw on the service's retry
 * budget. Every attempt's outcome feeds outlier detection.
 *
 * Choice: a connect failure is retried whatever the method, because the
 * request never left (Envoy's `connect-failure` does the same); resets,
 * timeouts and 5xx answers are retried for idempotent methods only.
 *
 * @module
 */

import type { Dispatcher } from 'undici';
import type { EgressService, RouteRule, SnapshotEnvironment } from '../../../shared/config/snapshot.js';
import { chooseEnvironment } from './choose-environment.js';
import type { DataPlaneContext } from './context.js';
import { NoHealthyBackendError, UpstreamError, type UpstreamFailure } from './errors.js';
import type { SnapshotIndex } from './snapshot-index.js';
import { classifyFailure, type Deadline, deadline } from './upstream.js';

/** Methods RFC 9110 §9.2.2 calls idempotent. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
/** Without a Route the whole-call budget is the Route default. */
export const DEFAULT_TIMEOUT_MS = 15_000;

/** An outbound call, ready to send. */
export interface OutboundCall {
  readonly service: EgressService;
  readonly rule: RouteRule | undefined;
  readonly method: string;
  /** Normalized path plus query. */
  readonly path: string;
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer | undefined;
  /** The whole-call deadline (and the caller going away). */
  readonly signal: AbortSignal;
  /** Deadlines made per attempt; the caller disposes them when the answer is done. */
  readonly deadlines: Deadline[];
}

/** The answer that ends the call, and where it came from. */
export interface Forwarded {
  readonly response: Dispatcher.ResponseData;
  readonly environment: string;
  readonly attempts: number;
}

const rotation = new WeakMap<SnapshotEnvironment, number>();
function gatewayOf(env: SnapshotEnvironment) {
  const n = rotation.get(env) ?? 0;
  rotation.set(env, n + 1);
  return env.gateways[n % env.gateways.length]!;
}

function retryable(
  failure: UpstreamFailure | '5xx',
  retryOn: readonly string[],
  idempotent: boolean,
): boolean {
  if (failure === 'connect-failure') return retryOn.includes('connect-failure');
  if (!idempotent) return false;
  if (failure === 'timeout') return retryOn.includes('reset') || retryOn.includes('5xx');
  return retryOn.includes(failure);
}

/**
 * Sends `call` until an attempt answers below 500, or the policy, the budget
 * or the deadline says stop.
 *
 * @throws NoHealthyBackendError when no environment is usable; UpstreamError
 *   for the last attempt's failure.
 */
export async function forward(
  ctx: DataPlaneContext,
  index: SnapshotIndex,
  call: OutboundCall,
): Promise<Forwarded> {
  const { service, rule } = call;
  const maxAttempts = 1 + (rule?.retries.attempts ?? 0);
  const retryOn = rule?.retries.retryOn ?? [];
  const perTryMs = rule?.retries.perTryTimeoutMs ?? rule?.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const idempotent = IDEMPOTENT.has(call.method);
  const budget = ctx.retryBudget(service.host);
  const total = Math.max(service.environments.length, 1);
  budget.deposit();
  const tried = new Set<string>();
  let lastError: UpstreamError | undefined;
  for (let attempt = 1; ; attempt++) {
    const environment = chooseEnvironment({
      service,
      rule,
      defaultOrder: index.defaultOrder.get(service.host) ?? [],
      environments: index.environments,
      isEjected: (env) => ctx.outliers.isEjected(service.host, env),
      tried,
      random: ctx.random,
    });
    if (!environment)
      throw (
        lastError ?? new NoHealthyBackendError(`no environment of ${service.host} is healthy and reachable`)
      );
    tried.add(environment);
    const gateway = gatewayOf(index.environments.get(environment)!);
    const tryDeadline = deadline(perTryMs, call.signal);
    call.deadlines.push(tryDeadline);
    const again = () => attempt < maxAttempts && budget.tryWithdraw();
    try {
      const response = await ctx
        .transport()
        .pool(gateway)
        .request({
          method: call.method,
          path: call.path,
          headers: call.headers,
          body: call.body ?? null,
          signal: tryDeadline.signal,
          headersTimeout: perTryMs,
          bodyTimeout: 0,
        });
      // The per-try budget covers the wait for headers; the whole-call deadline covers the body.
      tryDeadline.clear();
      if (response.statusCode < 500) {
        ctx.outliers.recordSuccess(service.host, environment);
        return { response, environment, attempts: attempt };
      }
      ctx.outliers.recordFailure(service.host, environment, service.outlierDetection, total);
      if (!(retryable('5xx', retryOn, idempotent) && again()))
        return { response, environment, attempts: attempt };
      await response.body.dump().catch(() => undefined);
    } catch (error) {
      tryDeadline.clear();
      if (call.signal.aborted)
        throw new UpstreamError('timeout', `${service.host} did not answer in time`, { cause: error });
      const failure = classifyFailure(error, tryDeadline.expired);
      ctx.outliers.recordFailure(service.host, environment, service.outlierDetection, total);
      const message = error instanceof Error ? error.message : String(error);
      lastError = new UpstreamError(
        failure,
        `${failure} calling ${environment}/${gateway.name}: ${message}`,
        {
          cause: error,
        },
      );
      if (!(retryable(failure, retryOn, idempotent) && again())) throw lastError;
    }
  }
}
