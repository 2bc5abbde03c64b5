import { afterAll, describe, expect, it } from 'vitest';
import { buildBundle, parseBundle } from '../../../shared/identity/bundle.js';
import type { MeshCa } from '../../../shared/identity/ca.js';
import { issueX509Svid } from '../../../shared/identity/x509-svid.js';
import type { Provider } from '../../../shared/model/specs.js';
import { makeCsr } from '../../support/csr.js';
import { openTestCa, TRUST_DOMAIN } from '../../support/mesh-ca.js';
import { mtlsRequest, startMtlsServer, type TlsIdentity } from '../../support/tls.js';

const serverId = `spiffe://${TRUST_DOMAIN}/gw/gcp-europe/gw-1`;
const clientId = `spiffe://${TRUST_DOMAIN}/gw/aws-us/gw-1`;

async function svid(ca: MeshCa, spiffeId: string, provider: Provider): Promise<TlsIdentity> {
  const { csrPem, keyPem } = await makeCsr();
  const { certChain } = await issueX509Svid(ca, { csrPem, spiffeId, provider });
  return { keyPem, certChain };
}

describe('mutual TLS 1.3 between two X.509-SVIDs', async () => {
  const { ca } = await openTestCa();
  const roots = parseBundle(await buildBundle(ca)).x509Authorities.map((a) => a.pem);
  const server = await startMtlsServer(await svid(ca, serverId, 'gcp'), roots);
  afterAll(() => server.close());

  it('connects across providers, each side seeing the other’s SPIFFE ID', async () => {
    const result = await mtlsRequest(server.port, await svid(ca, clientId, 'aws'), roots, serverId);
    expect(result.error).toBeUndefined();
    expect(result.protocol).toBe('TLSv1.3');
    expect(result.serverSan).toBe(`URI:${serverId}`);
    expect(result.received).toBe(`hello URI:${clientId}`);
  });

  it('refuses a client certificate from a foreign CA', async () => {
    const foreign = await openTestCa();
    const [errorsBefore, acceptedBefore] = [server.clientErrors.length, server.accepted.length];
    // Node's server checks the client chain once the TLS 1.3 handshake is done and drops
    // the connection: the client sees no data, the server a client error and no session.
    const result = await mtlsRequest(server.port, await svid(foreign.ca, clientId, 'aws'), roots, serverId);
    expect(result.received).toBe('');
    expect(server.clientErrors.length).toBe(errorsBefore + 1);
    expect(server.accepted.length).toBe(acceptedBefore);
  });

  it('refuses a server whose SPIFFE ID is not the expected one', async () => {
    const result = await mtlsRequest(server.port, await svid(ca, clientId, 'aws'), roots, clientId);
    expect(result.error?.message).toMatch(/server is URI:/);
    expect(result.received).toBe('');
  });
});
