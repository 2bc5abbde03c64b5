/**
 * A write at one cloud until every gateway in all three clouds applied it:
 * `weft up` (three federated control planes, one gateway agent homed at
 * each), a new Service in namespace `shop` PUT at aws, then at gcp, timed
 * until all three agents' `/config` carry a version at or past the write's;
 * against the same writes to a single `weft serve` with the same three
 * agents, in the same run. Every process is real (`node bin/weft.js ...`),
 * and one system runs at a time, so neither takes CPU from the other.
 *
 * @module
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { latencyStats, round } from './harness.js';
import {
  type Environment,
  type RunningMesh,
  startSingleControlPlane,
  startWeftUp,
  writeBenchMesh,
} from './replication-processes.js';

const WRITES = Number(process.env.WEFT_BENCH_GATEWAY_WRITES ?? 50);
/** Writes before those measured: connections opened, code paths warm. */
const WARM_UP = 3;
/** Between rounds of GET /config at the three gateways: the resolution of the figures. */
const POLL_MS = 5;
const WRITE_TIMEOUT_MS = 30_000;

export interface GatewayStats {
  readonly name: string;
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface GatewayFigures {
  readonly writes: number;
  readonly pollMs: number;
  readonly federatedAtAws: GatewayStats;
  readonly federatedAtGcp: GatewayStats;
  readonly single: GatewayStats;
  /** p50 federated / p50 single. */
  readonly p50Ratio: { readonly aws: number; readonly gcp: number };
  readonly startS: { readonly federated: number; readonly single: number };
}

const stats = (name: string, xs: number[]): GatewayStats => latencyStats(name, xs, 1);

/** A Service no gateway knows yet: the egress catalogue every gateway's snapshot carries changes. */
const service = (name: string) => ({
  apiVersion: 'weft.dev/v1',
  kind: 'Service',
  metadata: { name, namespace: 'shop', labels: { app: name, bench: 'replication' } },
  spec: { protocol: 'http', ports: [{ name: 'http', port: 80, targetPort: 8099 }] },
});

async function putService(api: string, token: string, name: string): Promise<string> {
  const res = await fetch(`${api}/v1/services/shop/${name}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(service(name)),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`PUT ${name} at ${api}: ${res.status} ${text.slice(0, 200)}`);
  return (JSON.parse(text) as { status: { version: string } }).status.version;
}

/** The version a gateway runs, and whether its config names `name`; `undefined` while it has none. */
async function appliedAt(admin: string, name: string) {
  const res = await fetch(`${admin}/config`).catch(() => undefined);
  if (!res?.ok) {
    await res?.arrayBuffer();
    return undefined;
  }
  const text = await res.text();
  return { version: (JSON.parse(text) as { version: string }).version, names: text.includes(`"${name}"`) };
}

/**
 * `WARM_UP + WRITES` writes at `api`, one at a time, each timed from just
 * before its PUT until every gateway runs a version at or past it.
 */
async function timeWrites(mesh: RunningMesh, api: string, label: string, prefix: string) {
  const admins = Object.entries(mesh.admins) as [Environment, string][];
  const all: number[] = [];
  let named = true;
  for (let i = -WARM_UP; i < WRITES; i++) {
    const name = `${prefix}-${i < 0 ? `warm${-i}` : i}`;
    const t0 = performance.now();
    const version = await putService(api, mesh.adminToken, name);
    const deadline = Date.now() + WRITE_TIMEOUT_MS;
    let pending = admins;
    for (;;) {
      const seen = await Promise.all(pending.map(([, admin]) => appliedAt(admin, name)));
      const late = pending.filter((_, j) => {
        const s = seen[j];
        if (s && s.version >= version) named &&= s.names;
        return !s || s.version < version;
      });
      if (late.length === 0) break;
      if (Date.now() > deadline)
        throw new Error(`${label}: ${name} (${version}) not applied at ${late.map(([e]) => e).join(', ')}`);
      pending = late;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    if (i >= 0) all.push(performance.now() - t0);
  }
  // The version is the state's (every write moves every gateway's); the name says the content came too.
  if (!named) console.error(`warning: ${label}: a gateway ran the version without the new Service`);
  return stats(label, all);
}

/** Runs both systems in turn and returns the figures; every process is stopped, even on failure. */
export async function benchGatewayConvergence(): Promise<GatewayFigures> {
  const work = await mkdtemp(join(tmpdir(), 'weft-bench-gateways-'));
  try {
    const fedDir = join(work, 'federated');
    const singleDir = join(work, 'single');
    await mkdir(fedDir);
    await mkdir(singleDir);

    const federated = await startWeftUp(fedDir, await writeBenchMesh(fedDir));
    let atAws: GatewayStats;
    let atGcp: GatewayStats;
    try {
      const { aws, gcp } = federated.apis;
      atAws = await timeWrites(federated, aws!, 'write at aws, federated (3 control planes)', 'bench-aws');
      atGcp = await timeWrites(federated, gcp!, 'write at gcp, federated (3 control planes)', 'bench-gcp');
    } finally {
      await federated.close();
    }

    const one = await startSingleControlPlane(singleDir, await writeBenchMesh(singleDir));
    let single: GatewayStats;
    try {
      single = await timeWrites(one, one.apis.aws!, 'baseline: write at a single control plane', 'bench-one');
    } finally {
      await one.close();
    }
    return {
      writes: WRITES,
      pollMs: POLL_MS,
      federatedAtAws: atAws,
      federatedAtGcp: atGcp,
      single,
      p50Ratio: {
        aws: round(atAws.p50Ms / single.p50Ms, 2),
        gcp: round(atGcp.p50Ms / single.p50Ms, 2),
      },
      startS: { federated: round(federated.startS, 1), single: round(one.startS, 1) },
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
