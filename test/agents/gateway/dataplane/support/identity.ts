/**
 * Real identities from a test mesh CA: gateway X.509-SVIDs as data plane
 * credentials, workload JWT-SVIDs made out to the mesh's gateways, and the
 * trust bundle; plus a foreign CA for what must be refused.
 *
 * @module
 */

import type { Credentials } from '../../../../../agents/gateway/dataplane/credentials.js';
import { gatewaysAudience } from '../../../../../shared/identity/audiences.js';
import { buildBundle, type ParsedBundle, parseBundle } from '../../../../../shared/identity/bundle.js';
import type { MeshCa } from '../../../../../shared/identity/ca.js';
import { issueJwtSvid } from '../../../../../shared/identity/jwt-svid.js';
import { issueX509Svid } from '../../../../../shared/identity/x509-svid.js';
import type { Provider } from '../../../../../shared/model/specs.js';
import { makeCsr } from '../../../../support/csr.js';
import { openTestCa, TRUST_DOMAIN } from '../../../../support/mesh-ca.js';
import { gatewayId } from './snapshots.js';

/** A mesh CA with its bundle, minting credentials and tokens. */
export interface TestIdentity {
  readonly ca: MeshCa;
  readonly bundle: ParsedBundle;
  /** X.509-SVID credentials for any SPIFFE ID (a gateway's, or a service's to test refusals). */
  svid(spiffeId: string, provider?: Provider): Promise<Credentials>;
  /** Credentials of gateway `environment/name`. */
  gateway(environment: string, name: string, provider?: Provider): Promise<Credentials>;
  /** A JWT-SVID for `spiffeId`, audience the mesh's gateways unless said otherwise. */
  jwt(spiffeId: string, audience?: string): Promise<string>;
}

/** Opens a fresh CA (trust domain `acme.test`). */
export async function openTestIdentity(): Promise<TestIdentity> {
  const { ca } = await openTestCa();
  const bundle = parseBundle(await buildBundle(ca));
  const svid = async (spiffeId: string, provider: Provider = 'aws'): Promise<Credentials> => {
    const { csrPem, keyPem } = await makeCsr();
    const { certChain } = await issueX509Svid(ca, { csrPem, spiffeId, provider });
    return { keyPem, certChainPem: [...certChain], bundle };
  };
  return {
    ca,
    bundle,
    svid,
    gateway: (environment, name, provider) => svid(gatewayId(environment, name), provider),
    jwt: async (spiffeId, audience = gatewaysAudience(TRUST_DOMAIN)) =>
      (await issueJwtSvid(ca, { spiffeId, audience, provider: 'aws' })).token,
  };
}
