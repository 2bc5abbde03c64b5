/**
 * The AWS composition's identity wiring with an injected CA (memory keys):
 * issuing as provider aws, join tokens spent in the state table (dynalite
 * here). The deployed wiring (CA state in S3, keys in KMS) runs on moto in
 * aws-end-to-end.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeAwsApi } from '../../../functions/aws/composition.js';
import { ensureTable } from '../../../functions/aws/dynamodb-state-store.js';
import { type EmbeddedDynamoDb, startEmbeddedDynamoDb } from '../../../functions/local/embedded-dynamodb.js';
import type { ApiResponse } from '../../../shared/api/types.js';
import { LocalEventBus } from '../../../shared/events/local-event-bus.js';
import { MeshCa } from '../../../shared/identity/ca.js';
import { MemoryCaStore } from '../../../shared/identity/ca-store.js';
import { MemoryKeyRing } from '../../../shared/identity/memory-key-ring.js';
import { x509 } from '../../../shared/identity/x509.js';
import { MemoryBlobStore } from '../../../shared/storage/memory-blob-store.js';
import { createTestOperators } from '../../support/api.js';
import { makeCsr } from '../../support/csr.js';
import { GATEWAY_ID, meshDoc } from '../../support/identity-api.js';

const TABLE = 'weft-aws-identity';
let db: EmbeddedDynamoDb;
beforeAll(async () => {
  db = await startEmbeddedDynamoDb({});
  await ensureTable(db.client, TABLE);
});
afterAll(async () => {
  await db?.close();
});

async function compose() {
  const operators = await createTestOperators();
  const lines: Record<string, unknown>[] = [];
  const logger = { info: (e: Record<string, unknown>) => lines.push(e), error: () => {} };
  const caStore = new MemoryCaStore();
  const keys = new MemoryKeyRing();
  const api = await composeAwsApi(
    { ...operators.env, WEFT_TABLE_NAME: TABLE },
    {
      client: db.client,
      logger,
      blobs: new MemoryBlobStore(),
      bus: new LocalEventBus(),
      openCa: (trustDomain: string) => MeshCa.open({ trustDomain, store: caStore, keys, providers: ['aws'] }),
    },
  );
  const call = (method: string, path: string, body?: unknown, admin = false): Promise<ApiResponse> =>
    api({
      method,
      path,
      query: {},
      headers: {
        'content-type': 'application/json',
        ...(admin && { authorization: `Bearer ${operators.adminToken}` }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      sourceIp: '203.0.113.7',
    });
  return { call, lines };
}

describe('composeAwsApi and workload identity', () => {
  it('with a CA: issues as provider aws, join tokens spent once in the state table', async () => {
    const { call, lines } = await compose();
    expect(lines).toEqual([]);
    expect((await call('PUT', '/v1/meshes/default', meshDoc(), true)).status).toBe(201);
    const minted = await call('POST', '/v1/join-tokens', { spiffeId: GATEWAY_ID }, true);
    expect(minted.status, minted.body).toBe(201);
    const { token } = JSON.parse(minted.body) as { token: string };
    const attest = async () =>
      call('POST', '/v1/attest', {
        attestation: { type: 'join_token', token },
        csr: (await makeCsr()).csrPem,
      });
    const res = await attest();
    expect(res.status, res.body).toBe(200);
    const [, intermediate] = (JSON.parse(res.body) as { x509Svid: { certChain: string[] } }).x509Svid
      .certChain;
    expect(new x509.X509Certificate(intermediate!).subject).toContain('aws');
    expect((await attest()).status).toBe(401);
  });
});
