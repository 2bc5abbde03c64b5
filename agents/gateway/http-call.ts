/**
 * One HTTP exchange with the control plane: a timeout on every call, no
 * redirects (a redirect could carry the bearer token elsewhere), JSON in
 * and out, and answers that are not success turned into the agent's errors.
 *
 * @module
 */
import { ControlPlaneRefusedError, ControlPlaneUnavailableError } from './errors.js';

/**
 * Sends one request; a network failure, a timeout or `cancel` is a
 * {@link ControlPlaneUnavailableError}.
 */
export async function send(
  fetchImpl: typeof fetch,
  url: string,
  init: RequestInit,
  timeoutMs: number,
  cancel?: AbortSignal,
): Promise<Response> {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const signal = cancel ? AbortSignal.any([timeout, cancel]) : timeout;
    return await fetchImpl(url, { ...init, redirect: 'error', signal });
  } catch (cause) {
    const why = (cause as Error).name === 'TimeoutError' ? `no answer in ${timeoutMs} ms` : describe(cause);
    throw new ControlPlaneUnavailableError(`control plane unreachable at ${new URL(url).origin}: ${why}`, {
      cause,
    });
  }
}

/** POSTs `body` as JSON; resolves with the JSON answer (`undefined` for 204). */
export async function requestJson(
  sendTo: (path: string, init: RequestInit) => Promise<Response>,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<unknown> {
  const res = await sendTo(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  if (res.status === 204) return undefined;
  if (!res.ok) return refuse(res);
  try {
    return await res.json();
  } catch (cause) {
    throw new ControlPlaneUnavailableError(`control plane sent unreadable JSON for ${path}`, { cause });
  }
}

/** Throws the error a non-success answer stands for, with the problem's `detail`. */
export async function refuse(res: Response): Promise<never> {
  const problem = (await res.json().catch(() => ({}))) as {
    detail?: unknown;
    code?: unknown;
    title?: unknown;
  };
  const detail = String(problem.detail ?? problem.title ?? (res.statusText || 'no detail'));
  if (res.status === 429 || res.status >= 500) {
    const seconds = Number(res.headers.get('retry-after'));
    throw new ControlPlaneUnavailableError(`control plane answered ${res.status}: ${detail}`, {
      ...(Number.isFinite(seconds) && seconds > 0 && { retryAfterMs: seconds * 1000 }),
    });
  }
  throw new ControlPlaneRefusedError(
    res.status,
    `control plane refused (${res.status}): ${detail}`,
    typeof problem.code === 'string' ? problem.code : undefined,
  );
}

/** undici hides the reason (ECONNREFUSED...) in `cause`. */
function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message ?? String(error);
}
