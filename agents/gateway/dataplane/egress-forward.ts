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
import type { ServerResponse } from 'node:http';
import type { EgressService, RouteRule, SnapshotEnvironment } from '../../../shared/contract/snapshot.js';
import { timerDelay } from '../../../shared/model/duration.js';
import { chooseEnvironment } from './choose-environment.js';
import type { DataPlaneContext } from './context.js';
import { NoHealthyBackendError, UpstreamError, type UpstreamFailure } from './errors.js';
import type { SnapshotIndex } from './snapshot-index.js';
import { type CallControl, classifyFailure, UpstreamAttempt } from './upstream.js';

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
  /** undici's flat `[name, value, ...]` list. */
  readonly headers: string[];
  readonly body: Buffer | undefined;
  /** Where the answer that ends the call is written. */
  readonly res: ServerResponse;
  /** The attempt in flight, and whether the whole call was stopped (see `egress.ts`). */
  readonly control: CallControl;
  /** Where each attempt's environment and number are noted as it starts (the access log's record). */
  readonly note: { environment: string; attempts?: number };
}

const stoppedError = (host: string, cause?: unknown) =>
  new UpstreamError('timeout', `${host} did not answer in time`, { cause });

const rotation = new WeakMap<SnapshotEnvironment, number>();
function gatewayOf(env: SnapshotEnvironment) {
  const n = rotation.get(env) ?? 0;
  rotation.set(env, n + 1);
  return env.gateways[n % env.gateways.length]!;
}

/** Feeds one failed attempt to outlier detection, and says so when it ejects the environment. */
function failed(ctx: DataPlaneContext, service: EgressService, environment: string, total: number): void {
  const forMs = ctx.outliers.recordFailure(service.host, environment, service.outlierDetection, total);
  if (forMs > 0) ctx.telemetry.ejected({ destination: service.spiffeId, environment, forMs });
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
 * or the deadline says stop; the answer that ends the call is being relayed
 * to `call.res` when this resolves.
 *
 * @throws NoHealthyBackendError when no environment is usable; UpstreamError
 *   for the last attempt's failure.
 */
export async function forward(
  ctx: DataPlaneContext,
  index: SnapshotIndex,
  call: OutboundCall,
): Promise<void> {
  const { service, rule, control } = call;
  const maxAttempts = 1 + (rule?.retries.attempts ?? 0);
  const retryOn = rule?.retries.retryOn ?? [];
  // The per-try budget covers the wait for headers (undici's headersTimeout); the whole-call deadline, the rest.
  // 0 (a Route's `timeout: 0s` with no perTryTimeout) is undici's "no headers timeout".
  const perTryMs = timerDelay(rule?.retries.perTryTimeoutMs ?? rule?.timeoutMs ?? DEFAULT_TIMEOUT_MS) ?? 0;
  const idempotent = IDEMPOTENT.has(call.method);
  const budget = ctx.retryBudget(service.host);
  const total = Math.max(service.environments.length, 1);
  budget.deposit();
  // Environments already tried; made on the first retry, as most calls take one attempt.
  let tried: Set<string> | undefined;
  let previous: string | undefined;
  let lastError: UpstreamError | undefined;
  // No closure made per call below but the one each attempt needs: they cost, and tsx's keepNames adds to each.
  const isEjected = ctx.outliers.ejectedIn(service.host);
  for (let attempt = 1; ; attempt++) {
    if (control.stopped) throw stoppedError(service.host);
    if (previous !== undefined) {
      tried ??= new Set();
      tried.add(previous);
    }
    const environment = chooseEnvironment({
      service,
      rule,
      defaultOrder: index.defaultOrder.get(service.host) ?? [],
      environments: index.environments,
      isEjected,
      tried,
      random: ctx.random,
    });
    if (!environment)
      throw (
        lastError ?? new NoHealthyBackendError(`no environment of ${service.host} is healthy and reachable`)
      );
    previous = environment;
    call.note.environment = environment;
    call.note.attempts = attempt;
    const gateway = gatewayOf(index.environments.get(environment)!);
    const sent = new UpstreamAttempt(call.res, (status) => {
      if (status < 500) {
        ctx.outliers.recordSuccess(service.host, environment);
        return true;
      }
      failed(ctx, service, environment, total);
      return !(retryable('5xx', retryOn, idempotent) && attempt < maxAttempts && budget.tryWithdraw());
    });
    control.current = sent;
    await sent.send(ctx.transport().pool(gateway), {
      method: call.method,
      path: call.path,
      headers: call.headers,
      body: call.body ?? null,
      headersTimeout: perTryMs,
      bodyTimeout: 0,
    });
    if (sent.relaying) return;
    if (sent.status) continue;
    if (control.stopped) throw stoppedError(service.host, sent.error);
    const failure = classifyFailure(sent.error, false);
    failed(ctx, service, environment, total);
    const message = sent.error instanceof Error ? sent.error.message : String(sent.error);
    lastError = new UpstreamError(failure, `${failure} calling ${environment}/${gateway.name}: ${message}`, {
      cause: sent.error,
    });
    if (!(retryable(failure, retryOn, idempotent) && attempt < maxAttempts && budget.tryWithdraw()))
      throw lastError;
  }
}
