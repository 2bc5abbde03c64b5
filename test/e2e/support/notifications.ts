/**
 * Webhook notifications signed with a control plane's own key (aws's CA
 * under `weft up`'s data directory), as the control plane sends them: a
 * replay of a genuine old one, or a duplicate, is indistinguishable from
 * the real thing except by its version.
 *
 * @module
 */

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openCloudCa, rootCertFile } from '../../../functions/local/federation.js';
import { signNotification } from '../../../shared/contract/signed-notification.js';

/** A `weft-notify+jws` for `gateway` announcing `version` and `hash`, signed by aws's CA in `dataDir/aws`. */
export async function signedNotification(
  dataDir: string,
  notice: { gateway: string; version: string; hash: string },
): Promise<string> {
  const ca = await openCloudCa(
    join(dataDir, 'aws'),
    'aws',
    await readFile(rootCertFile(join(dataDir, 'root')), 'utf8'),
  );
  const key = await ca.jwtSigningKey('aws');
  return signNotification({ ...notice, iat: Math.floor(Date.now() / 1000) }, key);
}
