/**
 * Replication between clouds: what one anti-entropy sweep costs at 10,000
 * resources, in process (MemoryStateStore per cloud, the transport a JSON
 * round trip, so the figures are the protocol's), against a full copy of the
 * peer's state measured in the same run; then, over real HTTP with three
 * local hosts on the embedded store, how long a stopped cloud takes to catch
 * up on 1,000 writes, and how long a write takes to become visible at the
 * other clouds by relay, against its own round trip at the writer.
 *
 * @module
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalHost, startLocalHost } from '../functions/local/host.js';
import type { JwsSigningKey } from '../shared/contract/signed-jws.js';
import { MemoryKeyRing } from '../shared/identity/memory-key-ring.js';
import { HybridLogicalClock } from '../shared/model/hlc.js';
import type { Federation, RelayPublicKey } from '../shared/replication/federation.js';
import { checkedRecord, storedRecordSchema } from '../shared/replication/relay-event.js';
import { Replication } from '../shared/replication/replication.js';
import type { PeerTransport } from '../shared/replication/transport.js';
import { ResourceService } from '../shared/resources/resource-service.js';
import { MemoryBlobStore } from '../shared/storage/memory-blob-store.js';
import { MemoryStateStore } from '../shared/storage/memory-state-store.js';
import { mergeRecord } from '../shared/storage/merge.js';
import type { StateStore, StoredRecord } from '../shared/storage/state-store.js';
import { tombstoneHorizon } from '../shared/storage/tombstones.js';
import { latencyStats, measure, round, writeResults } from './harness.js';
import { benchGatewayConvergence } from './replication-gateways.js';

const RESOURCES = Number(process.env.WEFT_BENCH_AE_RESOURCES ?? 10_000);
const DIFFER = Number(process.env.WEFT_BENCH_AE_DIFFER ?? 1_000);
const FEW = Number(process.env.WEFT_BENCH_AE_FEW ?? 10);
const RUNS = Number(process.env.WEFT_BENCH_AE_RUNS ?? 3);
const CATCHUP = Number(process.env.WEFT_BENCH_CATCHUP_WRITES ?? 1_000);
const RELAYS = Number(process.env.WEFT_BENCH_RELAY_WRITES ?? 100);
const CONCURRENCY = 16;
const NAMESPACES = 20;
/** Between GETs polling a peer for a relayed write: the resolution of the relay figures. */
const POLL_MS = 2;
/** Relayed writes before those measured: connections opened, code paths warm. */
const WARM_UP = 5;

const service = (name: string, namespace: string, rev = 1) => ({
  apiVersion: 'weft.dev/v1',
  kind: 'Service',
  metadata: { name, namespace, labels: { rev: String(rev) } },
  spec: { ports: [{ name: 'http', port: 8080 }] },
});
const keyOf = (i: number) => ({
  kind: 'Service' as const,
  namespace: `ns-${i % NAMESPACES}`,
  name: `svc-${i}`,
});
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

type RelayKeys = Record<string, { signing: JwsSigningKey; public: RelayPublicKey }>;

async function relayKeys(clouds: readonly string[]): Promise<RelayKeys> {
  const ring = new MemoryKeyRing();
  const keys: RelayKeys = {};
  for (const cloud of clouds) {
    const signer = await ring.open(`relay-${cloud}`);
    const { x, y } = await signer.publicKeyJwk();
    const kid = `relay-${cloud}`;
    keys[cloud] = { signing: { kid, signer }, public: { kid, kty: 'EC', crv: 'P-256', x: x!, y: y! } };
  }
  return keys;
}

function federationOf(self: string, keys: RelayKeys, urlOf: (cloud: string) => string): Federation {
  return {
    self,
    signingKey: keys[self]!.signing,
    peers: Object.keys(keys)
      .filter((c) => c !== self)
      .map((c) => ({ cloud: c, url: urlOf(c), keys: [keys[c]!.public] })),
  };
}

/** A store that counts the records it hands out: what serving a peer reads. */
class CountingStore implements StateStore {
  reads = 0;
  constructor(readonly inner: MemoryStateStore) {}
  async get(key: StoredRecord['key']) {
    const r = await this.inner.get(key);
    if (r) this.reads++;
    return r;
  }
  put: StateStore['put'] = (record, options) => this.inner.put(record, options);
  delete: StateStore['delete'] = (key, write, options) => this.inner.delete(key, write, options);
  purge: StateStore['purge'] = (key, ifVersion) => this.inner.purge(key, ifVersion);
  async list(...args: Parameters<StateStore['list']>) {
    const rs = await this.inner.list(...args);
    this.reads += rs.length;
    return rs;
  }
  async changedSince(version: string | undefined) {
    const rs = await this.inner.changedSince(version);
    this.reads += rs.length;
    return rs;
  }
}

interface InProcessCloud {
  readonly store: CountingStore;
  readonly service: ResourceService;
  readonly replication: Replication;
}

/** Two clouds, aws (A) and gcp (B), their network a JSON round trip that counts bytes. */
async function inProcessWorld() {
  const keys = await relayKeys(['aws', 'gcp']);
  const wire = { digestBytes: 0, bucketBytes: 0 };
  const clouds: Record<string, InProcessCloud> = {};
  for (const cloud of ['aws', 'gcp']) {
    const transport: PeerTransport = {
      async deliver(_peer, events) {
        return events.map((e) => ({ id: e.id, result: 'applied' as const }));
      },
      async digest(peer) {
        const text = JSON.stringify(await clouds[peer.cloud]!.replication.antiEntropy.digest());
        wire.digestBytes += Buffer.byteLength(text);
        return JSON.parse(text);
      },
      async buckets(peer, ids) {
        const text = JSON.stringify(await clouds[peer.cloud]!.replication.antiEntropy.buckets(ids));
        wire.bucketBytes += Buffer.byteLength(text);
        return JSON.parse(text);
      },
      async authority() {
        return undefined;
      },
      async appliedVersions() {
        return {};
      },
    };
    const store = new CountingStore(new MemoryStateStore());
    const hlc = new HybridLogicalClock(cloud);
    const federation = federationOf(cloud, keys, (c) => `http://${c}`);
    clouds[cloud] = {
      store,
      service: new ResourceService({ store, hlc }),
      replication: new Replication({ federation, store, blobs: new MemoryBlobStore(), hlc, transport }),
    };
  }
  return { a: clouds.aws!, b: clouds.gcp!, wire };
}

/** The baseline: read every record of B (one JSON payload), check and merge each into `into`. */
async function fullCopy(from: InProcessCloud, into: StateStore) {
  const started = performance.now();
  const text = JSON.stringify(await from.store.inner.changedSince(undefined));
  const page = JSON.parse(text) as unknown[];
  const horizon = tombstoneHorizon(Date.now());
  let applied = 0;
  for (const raw of page) {
    const parsed = storedRecordSchema.safeParse(raw);
    if (!parsed.success) throw new Error(parsed.error.message);
    if ((await mergeRecord(into, checkedRecord(parsed.data), { horizon })) === 'applied') applied++;
  }
  const ms = performance.now() - started;
  return { requests: 1, itemsRead: page.length, bytes: Buffer.byteLength(text), applied, ms: round(ms, 1) };
}

/** One sweep of A against B, with what B read to serve it and the bytes on the wire. */
async function sweepOnce(w: Awaited<ReturnType<typeof inProcessWorld>>) {
  w.wire.digestBytes = 0;
  w.wire.bucketBytes = 0;
  w.b.store.reads = 0;
  const started = performance.now();
  const [report] = await w.a.replication.antiEntropy.sweep();
  const ms = performance.now() - started;
  if (!report?.reached) throw new Error('the sweep did not reach B');
  const { requests, itemsRead, buckets, applied } = report;
  return {
    requests,
    itemsRead,
    buckets,
    applied,
    peerItemsRead: w.b.store.reads,
    digestBytes: w.wire.digestBytes,
    bucketBytes: w.wire.bucketBytes,
    ms: round(ms, 1),
  };
}

async function snapshotOf(store: CountingStore): Promise<MemoryStateStore> {
  const copy = new MemoryStateStore();
  for (const r of await store.inner.changedSince(undefined)) await copy.put(r);
  return copy;
}

/** B takes `n` writes A lacks: half newer versions of A's records, half new keys. */
async function diverge(b: InProcessCloud, n: number, next: { created: number; rev: number }) {
  next.rev++;
  const updates = Math.floor(n / 2);
  const step = Math.max(1, Math.floor(RESOURCES / Math.max(1, updates)));
  for (let j = 0; j < updates; j++) {
    const key = keyOf((j * step) % RESOURCES);
    await b.service.put(service(key.name, key.namespace, next.rev), key);
  }
  for (let j = updates; j < n; j++) {
    const key = keyOf(next.created++);
    await b.service.put(service(key.name, key.namespace), key);
  }
}

async function benchAntiEntropy() {
  const w = await inProcessWorld();
  for (let i = 0; i < RESOURCES; i++) {
    const key = keyOf(i);
    await w.b.service.put(service(key.name, key.namespace), key);
  }
  for (const r of await w.b.store.inner.changedSince(undefined)) await w.a.store.inner.put(r);

  const scenario = async (label: string, differing: number, next: { created: number; rev: number }) => {
    if (differing > 0) await diverge(w.b, differing, next);
    const snapshots = await Promise.all(
      Array.from({ length: differing > 0 ? 1 : RUNS }, () => snapshotOf(w.a.store)),
    );
    const sweeps = [];
    for (let r = 0; r < (differing > 0 ? 1 : RUNS); r++) sweeps.push(await sweepOnce(w));
    const copies = [];
    for (const s of snapshots) copies.push(await fullCopy(w.b, s));
    const sweep = { ...sweeps[0]!, ms: median(sweeps.map((s) => s.ms)) };
    const copy = { ...copies[0]!, ms: median(copies.map((c) => c.ms)) };
    if (sweep.applied !== differing || copy.applied !== differing)
      throw new Error(
        `${label}: applied ${sweep.applied} by sweep, ${copy.applied} by copy, not ${differing}`,
      );
    return { label, records: (await w.b.store.inner.changedSince(undefined)).length, differing, sweep, copy };
  };
  const next = { created: RESOURCES, rev: 1 };
  return [
    await scenario('identical', 0, next),
    await scenario(`${DIFFER} differ`, DIFFER, next),
    await scenario(`${FEW} differ`, FEW, next),
  ];
}

function printRows(title: string, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(`\n${title}`);
  console.log(fmt(header));
  console.log(widths.map((n) => '-'.repeat(n)).join('  '));
  for (const r of rows) console.log(fmt(r));
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

async function until<T>(
  check: () => Promise<T | undefined>,
  what: string,
  ms: number,
  everyMs = 1,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const CLOUDS = ['aws', 'gcp', 'azure'] as const;
type Cloud = (typeof CLOUDS)[number];
const SILENT = { info() {}, error() {} };

async function benchOverHttp() {
  const work = await mkdtemp(join(tmpdir(), 'weft-bench-replication-'));
  const keys = await relayKeys(CLOUDS);
  const ports = {} as Record<Cloud, number>;
  for (const cloud of CLOUDS) ports[cloud] = await freePort();
  const hosts: Partial<Record<Cloud, LocalHost>> = {};
  /** Anti-entropy rarely unless told: the relay figures must be relay's. */
  const start = async (cloud: Cloud, antiEntropyIntervalMs = 600_000) => {
    hosts[cloud] = await startLocalHost({
      dataDir: join(work, cloud),
      cloud,
      port: ports[cloud],
      federation: federationOf(cloud, keys, (c) => `http://127.0.0.1:${ports[c as Cloud]}`),
      antiEntropyIntervalMs,
      logger: SILENT,
    });
  };
  const call = async (cloud: Cloud, method: string, path: string, body?: unknown) => {
    const host = hosts[cloud]!;
    const res = await fetch(`${host.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${host.adminToken}`, 'content-type': 'application/json' },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    return { status: res.status, text: await res.text() };
  };
  const put = async (cloud: Cloud, namespace: string, name: string) => {
    const res = await call(cloud, 'PUT', `/v1/services/${namespace}/${name}`, service(name, namespace));
    if (res.status >= 300) throw new Error(`PUT at ${cloud}: ${res.status} ${res.text.slice(0, 200)}`);
    return JSON.parse(res.text).status.version as string;
  };
  const versionAt = async (cloud: Cloud, path: string) => {
    const res = await call(cloud, 'GET', path);
    return res.status === 200 ? (JSON.parse(res.text).status.version as string) : undefined;
  };
  const countAt = async (cloud: Cloud, namespace: string) =>
    (await hosts[cloud]!.store.list('Service', { namespace })).length;
  try {
    for (const cloud of CLOUDS) await start(cloud);

    // Relay latency: one write at a time at aws, polled for at gcp and azure.
    const own: number[] = [];
    const gcp: number[] = [];
    const azure: number[] = [];
    const both: number[] = [];
    for (let i = -WARM_UP; i < RELAYS; i++) {
      const name = i < 0 ? `warm-${-i}` : `svc-${i}`;
      const path = `/v1/services/relay/${name}`;
      const t0 = performance.now();
      const version = await put('aws', 'relay', name);
      const seen = (cloud: Cloud) =>
        until(
          async () => ((await versionAt(cloud, path)) === version ? performance.now() - t0 : undefined),
          `${name} at ${cloud}`,
          10_000,
          POLL_MS,
        );
      const [o, g, a] = await Promise.all([
        versionAt('aws', path).then(() => performance.now() - t0),
        seen('gcp'),
        seen('azure'),
      ]);
      if (i < 0) continue;
      own.push(o);
      gcp.push(g);
      azure.push(a);
      both.push(Math.max(g, a));
    }
    const stats = (name: string, xs: number[]) => latencyStats(name, xs, 2);
    const relay = {
      baseline: stats('PUT+GET at aws', own),
      gcp: stats('PUT at aws, visible at gcp', gcp),
      azure: stats('PUT at aws, visible at azure', azure),
      both: stats('PUT at aws, visible at both', both),
    };

    // Catch-up: gcp down for CATCHUP writes at aws, then back with a short anti-entropy interval.
    await hosts.gcp!.close();
    hosts.gcp = undefined;
    const writes = await measure(`PUT service at aws, gcp down`, CATCHUP, CONCURRENCY, (i) =>
      put('aws', 'catchup', `svc-${i}`).then(() => {}),
    );
    const lastWrite = performance.now();
    await until(
      async () => ((await countAt('azure', 'catchup')) === CATCHUP ? true : undefined),
      'azure to hold the writes',
      120_000,
      50,
    );
    const azureLagS = round((performance.now() - lastWrite) / 1000, 2);
    await hosts.aws!.idle();
    const relayDrainS = round((performance.now() - lastWrite) / 1000, 2);
    const restarted = performance.now();
    await start('gcp', 200);
    const startS = round((performance.now() - restarted) / 1000, 2);
    const status = async () => JSON.parse((await call('gcp', 'GET', '/v1/replication/status')).text);
    await until(
      async () => ((await status()).antiEntropy.applied >= CATCHUP ? true : undefined),
      'gcp to merge the writes',
      120_000,
      20,
    );
    await until(
      async () => ((await countAt('gcp', 'catchup')) === CATCHUP ? true : undefined),
      'gcp to hold the writes',
      60_000,
      20,
    );
    const catchUpS = round((performance.now() - restarted) / 1000, 2);
    const after = await status();
    return {
      relay,
      catchUp: {
        writes: CATCHUP,
        writesAtAws: writes,
        azureHeldAllAfterLastWriteS: azureLagS,
        awsRelayDrainedAfterLastWriteS: relayDrainS,
        gcpStartS: startS,
        catchUpS,
        catchUpAfterStartS: round(catchUpS - startS, 2),
        gcpAntiEntropy: after.antiEntropy,
        gcpRelayed: after.relayed,
      },
    };
  } finally {
    for (const cloud of CLOUDS) await hosts[cloud]?.close();
    await rm(work, { recursive: true, force: true });
  }
}

/** Runs the replication benchmark, prints its tables and writes `bench/results/replication.json`. */
export async function benchReplication(): Promise<void> {
  console.log(
    `replication: anti-entropy at ${RESOURCES} Services in ${NAMESPACES} namespaces (in process); ` +
      `catch-up on ${CATCHUP} writes and relay of ${RELAYS} over HTTP, three local hosts`,
  );
  const antiEntropy = await benchAntiEntropy();
  printRows(
    'Anti-entropy: one sweep of aws against gcp vs a full copy of gcp (in process, MemoryStateStore)',
    [
      'operation',
      'requests',
      'read here',
      'read at peer',
      'buckets',
      'digest B',
      'pulled B',
      'applied',
      'ms',
      'ms ratio',
    ],
    antiEntropy.flatMap(({ label, records, sweep, copy }) => [
      [
        `sweep, ${label} (${records} records)`,
        String(sweep.requests),
        String(sweep.itemsRead),
        String(sweep.peerItemsRead),
        String(sweep.buckets),
        String(sweep.digestBytes),
        String(sweep.bucketBytes),
        String(sweep.applied),
        String(sweep.ms),
        `${round(sweep.ms / copy.ms, 2)}x`,
      ],
      [
        `  baseline: full copy`,
        String(copy.requests),
        String(copy.itemsRead),
        String(copy.itemsRead),
        '-',
        '-',
        String(copy.bytes),
        String(copy.applied),
        String(copy.ms),
        '1x',
      ],
    ]),
  );
  const http = await benchOverHttp();
  const { relay, catchUp } = http;
  printRows(
    'Relay latency over HTTP (three local hosts, embedded store, one process)',
    ['operation', 'writes', 'p50 ms', 'p99 ms', 'max ms', 'p50 ratio'],
    [relay.baseline, relay.gcp, relay.azure, relay.both].map((s) => [
      s.name,
      String(s.count),
      String(s.p50Ms),
      String(s.p99Ms),
      String(s.maxMs),
      `${round(s.p50Ms / relay.baseline.p50Ms, 2)}x`,
    ]),
  );
  printRows(
    'Catch-up by anti-entropy over HTTP (gcp stopped, restarted with a 200 ms interval)',
    ['figure', 'value'],
    [
      [
        `${CATCHUP} PUTs at aws with gcp down (c=${CONCURRENCY})`,
        `${catchUp.writesAtAws.seconds} s (${catchUp.writesAtAws.opsPerSecond}/s)`,
      ],
      ['azure holds all, after the last write', `${catchUp.azureHeldAllAfterLastWriteS} s`],
      [
        'aws relay idle (gave up on gcp), after the last write',
        `${catchUp.awsRelayDrainedAfterLastWriteS} s`,
      ],
      ['gcp start', `${catchUp.gcpStartS} s`],
      [`gcp holds all ${CATCHUP}, from restart`, `${catchUp.catchUpS} s`],
      ['  of which after start', `${catchUp.catchUpAfterStartS} s`],
      [
        'gcp anti-entropy (sweeps/requests/itemsRead/applied)',
        Object.values(catchUp.gcpAntiEntropy).join(' / '),
      ],
    ],
  );
  const gateways = await benchGatewayConvergence();
  const { federatedAtAws, federatedAtGcp, single } = gateways;
  printRows(
    `Write until every gateway in all three clouds applied it (real processes, new Service in shop, polled every ${gateways.pollMs} ms)`,
    ['operation', 'writes', 'p50 ms', 'p99 ms', 'max ms', 'p50 ratio'],
    [federatedAtAws, federatedAtGcp, single].map((s) => [
      s.name,
      String(s.count),
      String(s.p50Ms),
      String(s.p99Ms),
      String(s.maxMs),
      `${round(s.p50Ms / single.p50Ms, 2)}x`,
    ]),
  );
  console.log(
    `(start-up: weft up ${gateways.startS.federated} s, single serve + apply + 3 agents ${gateways.startS.single} s)`,
  );
  const file = await writeResults('replication', {
    resources: RESOURCES,
    namespaces: NAMESPACES,
    antiEntropy,
    relay,
    catchUp,
    gateways,
  });
  console.log(`\nwrote ${file}`);
}
