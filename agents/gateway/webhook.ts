/**
 * The webhook (docs/distribution.md §4): the control plane POSTs a signed
 * notification, `application/jose`, saying a newer snapshot exists. It
 * carries no config, only a nudge: the agent verifies it (same key and
 * checks as a snapshot, typ `weft-notify+jws`) and fetches at once. A
 * forged, replayed or stale one therefore costs at most one conditional GET,
 * and is refused before even that.
 *
 * @module
 */
import { SnapshotRefusedError } from '../../shared/contract/signed-jws.js';
import { verifyNotification } from '../../shared/contract/signed-notification.js';
import type { ParsedBundle } from '../../shared/identity/bundle.js';
import type { AdminResponse } from './admin-http.js';
import { problem } from './admin-http.js';
import type { AppliedConfig } from './applied-config.js';
import type { Logger } from './log.js';
import type { AgentMetrics } from './metrics.js';

/** What the webhook needs. */
export interface NotifyContext {
  readonly credentials: { readonly spiffeId: string; readonly bundle: ParsedBundle };
  readonly applied: AppliedConfig;
  readonly sync: { trigger(why: string): Promise<void> };
  readonly logger: Logger;
  readonly metrics: AgentMetrics;
}

/** Answers `POST /notify`: 202 and a fetch, 200 when there is nothing newer, 4xx when refused. */
export async function handleNotify(
  body: string,
  contentType: string | undefined,
  ctx: NotifyContext,
): Promise<AdminResponse> {
  if (contentType?.split(';')[0]?.trim().toLowerCase() !== 'application/jose') {
    return problem(415, 'notifications are compact JWS: send Content-Type application/jose');
  }
  const current = ctx.applied.current?.snapshot;
  try {
    const notice = await verifyNotification(body.trim(), ctx.credentials.bundle, {
      expectedSpiffeId: ctx.credentials.spiffeId,
      ...(current && { appliedVersion: current.version, appliedHash: current.hash }),
    });
    ctx.metrics.countNotification('accepted');
    ctx.logger.info({ version: notice.version }, 'notified of a new snapshot; fetching');
    // Not awaited: the control plane's delivery should not wait on our fetch.
    void ctx.sync.trigger('webhook');
    return { status: 202, headers: { 'content-type': 'application/json' }, body: '{"status":"fetching"}\n' };
  } catch (error) {
    if (!(error instanceof SnapshotRefusedError)) throw error;
    if (error.reason === 'stale-version') {
      ctx.metrics.countNotification('stale');
      return {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: '{"status":"up to date"}\n',
      };
    }
    ctx.metrics.countNotification('refused');
    ctx.logger.warn({ reason: error.reason, why: error.message }, 'webhook notification refused');
    const status = error.reason === 'malformed' ? 400 : error.reason === 'wrong-gateway' ? 403 : 401;
    return problem(status, `notification refused: ${error.message}`);
  }
}
