/**
 * Two local control planes, aws and gcp, each with its own embedded store
 * and blobs, replicating over real HTTP: a write at one reaches the other by
 * relay; a write made while the other is down reaches it by anti-entropy
 * once it is back; the replication endpoints refuse what is not a peer's.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalHost, startLocalHost } from '../../../functions/local/host.js';
import type { JwsSigningKey } from '../../../shared/contract/signed-jws.js';
import { MemoryKeyRing } from '../../../shared/identity/memory-key-ring.js';
import type { Federation, RelayPublicKey } from '../../../shared/replication/federation.js';
import { relayEvent } from '../../../shared/replication/relay-event.js';
import { httpCaller } from '../../support/api.js';
import { runProcess } from '../../support/run-process.js';

const SILENT = { info() {}, error() {} };
const CLOUDS = ['aws', 'gcp'] as const;
type Cloud = (typeof CLOUDS)[number];

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

async function until(check: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const environment = (name: string) => ({
  apiVersion: 'weft.dev/v1',
  kind: 'Environment',
  metadata: { name },
  spec: { provider: 'aws', region: 'us-east-1' },
});

describe('two local control planes replicating over HTTP', () => {
  let work: string;
  const ports = {} as Record<Cloud, number>;
  const keys = {} as Record<Cloud, { signing: JwsSigningKey; public: RelayPublicKey }>;
  const hosts = {} as Record<Cloud, LocalHost | undefined>;

  const federationOf = (cloud: Cloud): Federation => ({
    self: cloud,
    signingKey: keys[cloud].signing,
    peers: CLOUDS.filter((c) => c !== cloud).map((c) => ({
      cloud: c,
      url: `http://127.0.0.1:${ports[c]}`,
      keys: [keys[c].public],
    })),
  });
  /** Anti-entropy every minute unless told: the relay tests must see relay, not repair. */
  const start = async (cloud: Cloud, antiEntropyIntervalMs = 60_000) => {
    hosts[cloud] = await startLocalHost({
      dataDir: join(work, cloud),
      cloud,
      port: ports[cloud],
      federation: federationOf(cloud),
      antiEntropyIntervalMs,
      logger: SILENT,
    });
  };
  const call = (cloud: Cloud, method: string, path: string, body?: unknown) =>
    httpCaller(hosts[cloud]!.url)(method, path, {
      headers: { authorization: `Bearer ${hosts[cloud]!.adminToken}`, 'content-type': 'application/json' },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
  const versionAt = async (cloud: Cloud, path: string) => {
    const res = await call(cloud, 'GET', path);
    return res.status === 200 ? (JSON.parse(res.body).status.version as string) : `(${res.status})`;
  };

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'weft-replication-'));
    const ring = new MemoryKeyRing();
    for (const cloud of CLOUDS) {
      ports[cloud] = await freePort();
      const signer = await ring.open(`relay-${cloud}`);
      const { x, y } = await signer.publicKeyJwk();
      keys[cloud] = {
        signing: { kid: `relay-${cloud}`, signer },
        public: { kid: `relay-${cloud}`, kty: 'EC', crv: 'P-256', x: x!, y: y! },
      };
    }
    for (const cloud of CLOUDS) await start(cloud);
  });
  afterAll(async () => {
    for (const cloud of CLOUDS) await hosts[cloud]?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('relays a write at aws to gcp, and a delete back', async () => {
    const put = await call('aws', 'PUT', '/v1/environments/relayed', environment('relayed'));
    expect(put.status, put.body).toBe(201);
    const version = JSON.parse(put.body).status.version as string;
    expect(version).toMatch(/-aws$/);
    await until(
      async () => (await versionAt('gcp', '/v1/environments/relayed')) === version,
      'the relay to gcp',
    );
    const gone = await call('gcp', 'DELETE', '/v1/environments/relayed');
    expect(gone.status, gone.body).toBe(200);
    await until(
      async () => (await versionAt('aws', '/v1/environments/relayed')) === '(404)',
      'the delete at aws',
    );
    const status = async (cloud: Cloud) =>
      JSON.parse((await call(cloud, 'GET', '/v1/replication/status')).body);
    await until(async () => (await status('gcp')).relayed.delivered === 1, 'gcp to count its delivery');
    expect(await status('gcp')).toMatchObject({
      cloud: 'gcp',
      ingested: { applied: 1 },
      antiEntropy: { applied: 0 },
    });
    expect(await status('aws')).toMatchObject({
      ingested: { applied: 1 },
      relayed: { delivered: 1 },
      antiEntropy: { applied: 0 },
    });
    // The same counts as Prometheus text, which promtool accepts.
    const metrics = await call('gcp', 'GET', '/v1/replication/metrics');
    expect(metrics.status, metrics.body).toBe(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(metrics.body).toMatch(/^weft_relay_ingested_total\{cloud="gcp",result="applied"\} 1$/m);
    expect(metrics.body).toMatch(/^weft_relay_refused_total\{cloud="gcp",reason="replay"\} 0$/m);
    const lint = await runProcess('promtool', ['check', 'metrics'], { input: metrics.body });
    expect([lint.code, lint.stdout + lint.stderr]).toEqual([0, '']);
  });

  it('catches up by anti-entropy on a write made while it was down', async () => {
    await hosts.gcp!.close();
    hosts.gcp = undefined;
    const put = await call('aws', 'PUT', '/v1/environments/missed', environment('missed'));
    expect(put.status, put.body).toBe(201);
    const version = JSON.parse(put.body).status.version as string;
    // The relay gave up on gcp (down); the write is fine at aws all along. gcp pulls it on its first sweep.
    await start('gcp', 300);
    await until(async () => (await versionAt('gcp', '/v1/environments/missed')) === version, 'anti-entropy');
  });

  it('refuses on its endpoints what is not a peer’s', async () => {
    const gcp = httpCaller(hosts.gcp!.url);
    for (const path of ['/v1/replication/digest', '/v1/replication/records?buckets=Service/1']) {
      const res = await gcp('GET', path, { headers: { authorization: `Bearer ${hosts.gcp!.adminToken}` } });
      expect(res.status, `${path}: an operator is no peer`).toBe(401);
    }
    // Signed by gcp's own key: refused, and the Environment is not written.
    const own = await relayEvent(
      {
        key: { kind: 'Environment', namespace: '', name: 'own' },
        version: '1800000000000-000000-gcp',
        origin: 'gcp',
        updatedAt: new Date().toISOString(),
        resource: environment('own') as never,
      },
      { cloud: 'gcp', signingKey: keys.gcp.signing },
    );
    const refused = await gcp('POST', '/v1/replication/events', {
      body: JSON.stringify(own),
      headers: { 'content-type': 'application/json' },
    });
    expect(refused.status, refused.body).toBe(422);
    expect(JSON.parse(refused.body).detail).toMatch(/^own-origin/);
    expect(await versionAt('gcp', '/v1/environments/own')).toBe('(404)');
  });
});
