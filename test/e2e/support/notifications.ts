/**
 * Webhook notifications signed with the local control plane's own key (the
 * CA under `weft up`'s data directory), as the control plane sends them: a
 * replay of a genuine old one, or a duplicate, is indistinguishable from
 * the real thing except by its version.
 *
 * @module
 */
import { signNotification } from '../../../shared/contract/signed-notification.js';
import { MeshCa } from '../../../shared/identity/ca.js';
import { FileCaStore } from '../../../shared/identity/file-ca-store.js';
import { FileKeyRing } from '../../../shared/identity/file-key-signer.js';

/** A `weft-notify+jws` for `gateway` announcing `version` and `hash`, signed by the CA in `dataDir`. */
export async function signedNotification(
  dataDir: string,
  notice: { gateway: string; version: string; hash: string },
): Promise<string> {
  const ca = await MeshCa.open({
    trustDomain: 'weft.demo',
    store: new FileCaStore(dataDir),
    keys: new FileKeyRing(dataDir),
    providers: ['local'],
  });
  const key = await ca.jwtSigningKey('local');
  return signNotification({ ...notice, iat: Math.floor(Date.now() / 1000) }, key);
}
