/**
 * From stored snapshots to webhook notifications: one signed notification
 * per gateway whose snapshot was written and whose Gateway has a
 * `spec.webhook`.
 *
 * @module
 */
import type { MeshState } from '../compiler/mesh-state.js';
import type { JwsSigningKey } from '../contract/signed-jws.js';
import { signNotification } from '../contract/signed-notification.js';
import type { GatewaySnapshot } from '../contract/snapshot.js';
import type { Notifier } from './notifier.js';

/** Queues a notification for each gateway in `written` that has a webhook; never waits for delivery. */
export async function notifyWritten(
  notifier: Notifier,
  state: MeshState,
  snapshots: ReadonlyMap<string, GatewaySnapshot>,
  written: readonly string[],
  key: JwsSigningKey,
  now: () => number = Date.now,
): Promise<void> {
  const iat = Math.floor(now() / 1000);
  for (const gateway of written) {
    const snapshot = snapshots.get(gateway);
    const url = snapshot && state.resources.Gateway.get(snapshot.gateway.name)?.spec.webhook;
    if (!snapshot || !url) continue;
    const { spiffeId } = snapshot.gateway;
    const body = await signNotification(
      { gateway: spiffeId, version: snapshot.version, hash: snapshot.hash, iat },
      key,
    );
    notifier.notify({ gateway, url, body });
  }
}
