import { describe, expect, it } from 'vitest';
import { buildBundle, parseBundle } from '../../../shared/identity/bundle.js';
import { issueX509Svid } from '../../../shared/identity/x509-svid.js';
import { ValidationError } from '../../../shared/model/errors.js';
import { makeCsr } from '../../support/csr.js';
import { openTestCa, TRUST_DOMAIN } from '../../support/mesh-ca.js';

describe('trust bundle', async () => {
  const { ca } = await openTestCa();

  it('lists the root and every intermediate as x509-svid keys, one x5c each, and jwt-svid keys by kid', async () => {
    const bundle = await buildBundle(ca, { refreshHintSeconds: 60 });
    const x509Keys = bundle.keys.filter((k) => k.use === 'x509-svid');
    const jwtKeys = bundle.keys.filter((k) => k.use === 'jwt-svid');
    expect(x509Keys).toHaveLength(3);
    for (const key of x509Keys) {
      expect(key.x5c).toHaveLength(1);
      expect(key).toMatchObject({ kty: 'EC', crv: 'P-256' });
      expect(key).not.toHaveProperty('d');
    }
    expect(jwtKeys.map((k) => k.kid)).toEqual(ca.jwtAuthorities().map((k) => k.kid));
    for (const key of jwtKeys) expect(key).not.toHaveProperty('d');
    expect(bundle.spiffe_sequence).toBe(ca.sequence);
    expect(bundle.spiffe_refresh_hint).toBe(60);
  });

  it('round-trips through JSON for agents', async () => {
    const bundle = await buildBundle(ca);
    const parsed = parseBundle(JSON.stringify(bundle));
    expect(parsed.sequence).toBe(ca.sequence);
    expect(parsed.refreshHintSeconds).toBe(300);
    expect(parsed.x509Authorities.map((a) => a.pem)).toEqual(
      ca.x509Authorities().map((c) => `${c.toString('pem')}\n`),
    );
    expect(parsed.x509Authorities[0]?.der).toBeInstanceOf(Uint8Array);
    expect([...parsed.jwtKeys.keys()]).toEqual(ca.jwtAuthorities().map((k) => k.kid));
  });

  it('skips keys with a use it does not know', async () => {
    const bundle = await buildBundle(ca);
    const parsed = parseBundle({ ...bundle, keys: [...bundle.keys, { kty: 'EC', use: 'x-future' }] });
    expect(parsed.x509Authorities).toHaveLength(3);
  });

  it('refuses malformed bundles', async () => {
    const bundle = await buildBundle(ca);
    const x509Key = bundle.keys.find((k) => k.use === 'x509-svid')!;
    const jwtKey = bundle.keys.find((k) => k.use === 'jwt-svid')!;
    const { certChain } = await issueX509Svid(ca, {
      csrPem: (await makeCsr()).csrPem,
      spiffeId: `spiffe://${TRUST_DOMAIN}/gw/aws-1/gw-1`,
      provider: 'aws',
    });
    const leafDer = Buffer.from(certChain[0].replace(/-----[^-]+-----|\s/g, ''), 'base64').toString('base64');
    const cases: unknown[] = [
      '{not json',
      { keys: 'nope' },
      { keys: [{ ...x509Key, x5c: [...(x509Key.x5c ?? []), ...(x509Key.x5c ?? [])] }] },
      { keys: [{ ...x509Key, x5c: ['AAAA'] }] },
      { keys: [{ ...x509Key, x5c: [leafDer] }] },
      { keys: [{ ...jwtKey, kid: undefined }] },
      { keys: [jwtKey, jwtKey] },
      { keys: [{ ...jwtKey, crv: 'P-384' }] },
    ];
    for (const json of cases) expect(() => parseBundle(json), JSON.stringify(json)).toThrow(ValidationError);
  });
});
