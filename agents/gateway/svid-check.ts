/**
 * Whether an X.509-SVID is one this agent may use: the key is the leaf's,
 * the chain verifies against the trust bundle, the leaf names this gateway
 * (`spiffe://<td>/gw/<environment>/<name>`), and it has not expired. Checked
 * on what is loaded from disk and on every SVID the control plane issues, so
 * a wrong or damaged credential is never put into service.
 *
 * @module
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { ParsedBundle } from '../../shared/identity/bundle.js';
import { verifyX509SvidChain } from '../../shared/identity/x509-svid-chain.js';
import { parseSpiffeId } from '../../shared/model/names.js';
import type { GatewayPath } from './control-plane-client.js';
import { JoinTokenNeededError } from './errors.js';

/** A usable SVID's facts. */
export interface CheckedSvid {
  readonly spiffeId: string;
  readonly trustDomain: string;
  readonly notBefore: Date;
  readonly expiresAt: Date;
  /** Half-life: when rotation is due, as SPIRE and Istio rotate. */
  readonly renewAt: Date;
}

/** The SPIFFE ID path of a gateway. */
export function gatewayIdPath({ environment, name }: GatewayPath): string {
  return `/gw/${environment}/${name}`;
}

/**
 * Checks an SVID for `gateway` at `now`.
 *
 * @throws JoinTokenNeededError saying what is wrong; for an expired SVID the
 *   message says when it expired.
 */
export async function checkSvid(
  keyPem: string,
  certChain: readonly string[],
  bundle: ParsedBundle,
  gateway: GatewayPath,
  now: Date,
): Promise<CheckedSvid> {
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certChain[0] ?? '');
    if (!leaf.checkPrivateKey(createPrivateKey(keyPem)))
      throw new Error('the key is not the leaf certificate key');
  } catch (cause) {
    throw new JoinTokenNeededError(
      `the X.509-SVID is unreadable or not for its key: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
  const expiresAt = new Date(leaf.validTo);
  if (expiresAt.getTime() <= now.getTime()) {
    throw new JoinTokenNeededError(`the X.509-SVID expired at ${expiresAt.toISOString()}`);
  }
  const uri = /URI:(spiffe:\/\/[^,\s]+)/.exec(leaf.subjectAltName ?? '')?.[1] ?? '';
  const id = parseSpiffeId(uri);
  if (!id || id.path !== gatewayIdPath(gateway)) {
    throw new JoinTokenNeededError(
      `the X.509-SVID is for ${uri || 'no SPIFFE ID'}, not gateway ${gateway.environment}/${gateway.name}`,
    );
  }
  const ders = certChain.map((pem) => new Uint8Array(new X509Certificate(pem).raw));
  try {
    await verifyX509SvidChain(ders, { bundle, trustDomain: id.trustDomain, now });
  } catch (cause) {
    throw new JoinTokenNeededError(
      `the X.509-SVID does not verify against the trust bundle: ${(cause as Error).message}`,
      {
        cause,
      },
    );
  }
  const notBefore = new Date(leaf.validFrom);
  const renewAt = new Date(notBefore.getTime() + (expiresAt.getTime() - notBefore.getTime()) / 2);
  return { spiffeId: uri, trustDomain: id.trustDomain, notBefore, expiresAt, renewAt };
}

/** The trust domain the leaf names, if it can be read: for messages about an unusable SVID. */
export function leafTrustDomain(certChain: readonly string[]): string | undefined {
  try {
    const uri = /URI:(spiffe:\/\/[^,\s]+)/.exec(
      new X509Certificate(certChain[0] ?? '').subjectAltName ?? '',
    )?.[1];
    return uri ? parseSpiffeId(uri)?.trustDomain : undefined;
  } catch {
    return undefined;
  }
}
