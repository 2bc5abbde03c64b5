/**
 * A real X.509-SVID from the test control plane, written to PEM files for
 * curl and openssl: attested with a join token for `spiffeId` as an agent
 * would, so a positive control holds exactly the kind of certificate the
 * ingress must accept (a gateway's) or drop (a service's).
 *
 * @module
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { newSvidKey } from '../../../../agents/gateway/svid-key.js';
import type { MeshHost } from './mesh-host.js';
import type { CertFiles } from './openssl.js';

/** Attests as `spiffeId` (`POST /v1/attest`) and writes its key and chain under `dir`. */
export async function attestedSvidFiles(cp: MeshHost, spiffeId: string, dir: string): Promise<CertFiles> {
  const key = await newSvidKey();
  const attestation = { type: 'join_token', token: await cp.joinToken(spiffeId) };
  const res = await fetch(`${cp.url}/v1/attest`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ attestation, csr: key.csrPem }),
  });
  const body = (await res.json()) as { x509Svid?: { certChain: string[] } };
  if (!res.ok || !body.x509Svid) throw new Error(`/v1/attest: ${res.status} ${JSON.stringify(body)}`);
  const name = spiffeId.replace(/[^a-z0-9]+/gi, '-');
  const files = { certPath: join(dir, `${name}.pem`), keyPath: join(dir, `${name}.key`) };
  await writeFile(files.certPath, `${body.x509Svid.certChain.map((pem) => pem.trimEnd()).join('\n')}\n`);
  await writeFile(files.keyPath, key.keyPem, { mode: 0o600 });
  return files;
}
