/**
 * Identity rates: JWT-SVID issue, JWT-SVID verify (cold: every token new;
 * cached: the same token again), X.509-SVID issue. Each beside raw
 * node:crypto with the same key type measured in the same run (one P-256
 * ECDSA signature for issuing, one verification for verifying), so the
 * ratio is what weft adds on top of the signature itself: claims and JOSE
 * encoding, the `Signer` port, CSR checks and certificate building. One
 * more row isolates the embedded signer (`node:crypto` behind the port).
 *
 * @module
 */
import { generateKeyPairSync, sign, verify } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newSvidKey } from '../agents/gateway/svid-key.js';
import { buildBundle, parseBundle } from '../shared/identity/bundle.js';
import { MeshCa } from '../shared/identity/ca.js';
import { FileCaStore } from '../shared/identity/file-ca-store.js';
import { FileKeyRing } from '../shared/identity/file-key-signer.js';
import { issueJwtSvid, JwtSvidVerifier } from '../shared/identity/jwt-svid.js';
import { issueX509Svid } from '../shared/identity/x509-svid.js';
import { type Comparison, measure, printTable, writeResults } from './harness.js';

const N = Number(process.env.WEFT_BENCH_IDENTITY_N ?? 4000);
const CONCURRENCY = 4;
const TD = 'bench.test';
const spiffeId = `spiffe://${TD}/gw/local-home/gw-1`;
const audience = `spiffe://${TD}/gateways`;

/** CSRs an agent would send, made before timing starts. */
async function makeCsrs(count: number): Promise<string[]> {
  // The same key and CSR a gateway agent makes when it attests.
  return Promise.all(Array.from({ length: count }, async () => (await newSvidKey()).csrPem));
}

/** Runs the identity benchmark, prints its table and writes `bench/results/identity.json`. */
export async function benchIdentity(): Promise<void> {
  const x509Count = Math.max(200, Math.floor(N / 4));
  console.log(
    `identity: ${N} JWT-SVIDs, ${x509Count} X.509-SVIDs, concurrency ${CONCURRENCY}, CA keys on disk`,
  );
  const dataDir = await mkdtemp(join(tmpdir(), 'weft-bench-identity-'));
  try {
    const ca = await MeshCa.open({
      trustDomain: TD,
      store: new FileCaStore(dataDir),
      keys: new FileKeyRing(dataDir),
      providers: ['local'],
    });
    const bundle = parseBundle(await buildBundle(ca));
    const { signer } = await ca.jwtSigningKey('local');
    // The baseline: the same key type, one signature or verification of a JWT-sized input.
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const input = Buffer.from((await issueJwtSvid(ca, { spiffeId, audience, provider: 'local' })).token);
    const rawSig = sign('sha256', input, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    const rawSign = () =>
      measure('node:crypto P-256 sign', N, CONCURRENCY, async () => {
        sign('sha256', input, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      });
    // The embedded `FileKeySigner` alone: the port's cost over the raw signature.
    const portSign = await measure('Signer port sign (file key)', N, CONCURRENCY, async () => {
      await signer.sign(input);
    });
    const rawVerify = () =>
      measure('node:crypto P-256 verify', N, CONCURRENCY, async () => {
        if (!verify('sha256', input, { key: publicKey, dsaEncoding: 'ieee-p1363' }, rawSig))
          throw new Error('bad');
      });

    const jwtIssue = await measure('JWT-SVID issue', N, CONCURRENCY, async () => {
      await issueJwtSvid(ca, { spiffeId, audience, provider: 'local' });
    });
    const signBaseline = await rawSign();
    const tokens = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        issueJwtSvid(ca, { spiffeId: `${spiffeId}-${i}`, audience, provider: 'local' }),
      ),
    );
    const cold = new JwtSvidVerifier({ bundle, trustDomain: TD });
    const verifyCold = await measure('JWT-SVID verify, cold', N, CONCURRENCY, async (i) => {
      await cold.verify(tokens[i]!.token, audience);
    });
    const verifyBaseline = await rawVerify();
    const warm = new JwtSvidVerifier({ bundle, trustDomain: TD });
    await warm.verify(tokens[0]!.token, audience);
    const verifyCached = await measure('JWT-SVID verify, cached', N * 5, CONCURRENCY, async () => {
      await warm.verify(tokens[0]!.token, audience);
    });
    const csrs = await makeCsrs(x509Count);
    const x509Issue = await measure('X.509-SVID issue', x509Count, CONCURRENCY, async (i) => {
      await issueX509Svid(ca, { csrPem: csrs[i]!, spiffeId, provider: 'local' });
    });
    const rows: Comparison[] = [
      { subject: jwtIssue, baseline: signBaseline },
      { subject: portSign, baseline: signBaseline },
      { subject: verifyCold, baseline: verifyBaseline },
      { subject: verifyCached, baseline: verifyBaseline },
      { subject: x509Issue, baseline: signBaseline },
    ];
    printTable('Identity: weft vs one raw P-256 signature or verification (node:crypto)', rows);
    const file = await writeResults('identity', {
      concurrency: CONCURRENCY,
      rows: rows.map(({ subject, baseline }) => ({
        subject,
        baseline,
        ratio: subject.opsPerSecond / baseline.opsPerSecond,
      })),
    });
    console.log(`\nwrote ${file}`);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}
