/**
 * API write and read rates through the real HTTP path (node:http + fetch
 * with keep-alive), on the embedded durable store (dynalite on disk, via the
 * DynamoDB adapter) beside the in-memory fake: the ratio is what durability
 * costs.
 *
 * @module
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalHost } from '../functions/local/host.js';
import { MemoryStateStore } from '../shared/storage/memory-state-store.js';
import { type Comparison, type Measurement, measure, printTable, writeResults } from './harness.js';

const WRITES = Number(process.env.WEFT_BENCH_WRITES ?? 2000);
const READS = Number(process.env.WEFT_BENCH_READS ?? 5000);
const CONCURRENCY = 16;

async function run(
  label: string,
  embedded: boolean,
): Promise<{ write: Measurement; read: Measurement; list: Measurement }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'weft-bench-'));
  const host = await startLocalHost({ dataDir, ...(embedded ? {} : { store: new MemoryStateStore() }) });
  const headers = { authorization: `Bearer ${host.adminToken}`, 'content-type': 'application/json' };
  const put = async (path: string, body: object) => {
    const res = await fetch(`${host.url}${path}`, { method: 'PUT', headers, body: JSON.stringify(body) });
    await res.arrayBuffer();
    if (res.status >= 300) throw new Error(`PUT ${path}: ${res.status}`);
  };
  try {
    const service = (i: number) => ({
      apiVersion: 'weft.dev/v1',
      kind: 'Service',
      metadata: { name: `svc-${i}`, namespace: 'bench', labels: { tier: i % 2 ? 'web' : 'db' } },
      spec: { ports: [{ name: 'http', port: 8080 }] },
    });
    const write = await measure(`PUT service (${label})`, WRITES, CONCURRENCY, (i) =>
      put(`/v1/services/bench/svc-${i}`, service(i)),
    );
    const read = await measure(`GET service (${label})`, READS, CONCURRENCY, async (i) => {
      const res = await fetch(`${host.url}/v1/services/bench/svc-${i % WRITES}`, { headers });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`GET: ${res.status}`);
    });
    const list = await measure(`LIST 100 of ${WRITES} (${label})`, 200, 4, async () => {
      const res = await fetch(`${host.url}/v1/services/bench?labelSelector=tier%3Dweb`, { headers });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`LIST: ${res.status}`);
    });
    return { write, read, list };
  } finally {
    await host.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Runs the API benchmark, prints its table and writes `bench/results/api.json`. */
export async function benchApi(): Promise<void> {
  console.log(`api: ${WRITES} writes, ${READS} reads, concurrency ${CONCURRENCY}, over HTTP on 127.0.0.1`);
  const memory = await run('memory', false);
  const embedded = await run('embedded', true);
  const rows: Comparison[] = [
    { subject: embedded.write, baseline: memory.write },
    { subject: embedded.read, baseline: memory.read },
    { subject: embedded.list, baseline: memory.list },
  ];
  printTable('API through HTTP: embedded durable store vs in-memory fake', rows);
  const file = await writeResults('api', {
    concurrency: CONCURRENCY,
    embedded,
    memory,
    ratios: rows.map((r) => ({
      operation: r.subject.name,
      ratio: r.subject.opsPerSecond / r.baseline.opsPerSecond,
    })),
  });
  console.log(`\nwrote ${file}`);
}
