/**
 * Config sync against real signed snapshots: compiled from the real local
 * host's state and signed with its CA key, served by a stand-in control
 * plane that can also serve tampered, foreign-signed, misaddressed and older
 * ones. What must hold: a verified newer snapshot is swapped in, kept on disk
 * and reported; anything else is refused, counted and logged with its
 * reason, and the applied config stays; an unreachable control plane changes
 * nothing.
 */
import { readFile, stat } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppliedConfig } from '../../../agents/gateway/applied-config.js';
import { bootstrapIdentity } from '../../../agents/gateway/bootstrap.js';
import { ConfigSync } from '../../../agents/gateway/config-sync.js';
import { ControlPlaneClient } from '../../../agents/gateway/control-plane-client.js';
import { AgentCredentials } from '../../../agents/gateway/credentials.js';
import { dataFiles, ensureDataDir } from '../../../agents/gateway/data-files.js';
import { AgentMetrics } from '../../../agents/gateway/metrics.js';
import { signSnapshot } from '../../../shared/contract/signed-snapshot.js';
import { parseHlc } from '../../../shared/model/hlc.js';
import { tempDir } from '../../support/temp-dir.js';
import { foreignKey, forge, tamper } from './support/forgery.js';
import { memoryLog } from './support/logs.js';
import { ENV, GW, type MeshHost, ordersPolicy, startMeshHost } from './support/mesh-host.js';
import { type StandIn, startStandIn } from './support/stand-in.js';

const gateway = { environment: ENV, name: GW };

describe('config sync', () => {
  let cp: MeshHost;
  let standIn: StandIn;
  let dir: string;
  let credentials: AgentCredentials;
  const applied = new AppliedConfig();
  const metrics = new AgentMetrics();
  const log = memoryLog();
  const syncTo = (url: string, pollIntervalMs = 60_000) =>
    new ConfigSync({
      client: new ControlPlaneClient({ url, timeoutMs: 2_000 }),
      credentials,
      applied,
      files: dataFiles(dir),
      gateway,
      logger: log.logger,
      metrics,
      pollIntervalMs,
    });
  const count = async (result: string) =>
    Number(
      new RegExp(`weft_config_apply_total\\{result="${result}"\\} (\\d+)`).exec(await metrics.text())?.[1],
    );
  const lastRefusal = () => log.lines.findLast((l) => l.msg === 'snapshot refused; the applied config stays');

  beforeAll(async () => {
    cp = await startMeshHost();
    standIn = await startStandIn(cp.url);
    dir = await tempDir('weft-agent-sync-');
    await ensureDataDir(dir);
    const client = new ControlPlaneClient({ url: standIn.url });
    const identity = await bootstrapIdentity({
      client,
      files: dataFiles(dir),
      gateway,
      joinToken: await cp.joinToken(),
      logger: log.logger,
      now: Date.now,
    });
    credentials = new AgentCredentials(identity, {
      client,
      files: dataFiles(dir),
      gateway,
      logger: log.logger,
      metrics,
    });
  });
  afterAll(async () => {
    await standIn?.close();
    await cp?.close();
  });

  it('finds nothing before a snapshot is compiled, and applies nothing', async () => {
    const sync = syncTo(standIn.url);
    expect(await sync.syncOnce()).toBe('none');
    expect(sync.problem).toBe('none compiled yet');
    expect(applied.current).toBeUndefined();
  });

  it('applies a verified snapshot: one swap, subscribers told, kept on disk 0600, reported, in the metrics', async () => {
    const { snapshot, jws } = await cp.signedSnapshot();
    standIn.serve(jws);
    const seen: string[] = [];
    const unsubscribe = applied.subscribe((a) => seen.push(a.snapshot.version));
    expect(await syncTo(standIn.url).syncOnce()).toBe('applied');
    unsubscribe();
    expect(seen).toEqual([snapshot.version]);
    expect(applied.current?.snapshot).toEqual(snapshot);
    expect(Object.isFrozen(applied.current?.snapshot.ingress)).toBe(true);
    const file = dataFiles(dir).snapshot;
    expect((await readFile(file, 'utf8')).trim()).toBe(jws);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(standIn.statuses.at(-1)).toMatchObject({
      appliedVersion: snapshot.version,
      appliedHash: snapshot.hash,
      refused: 0,
      x509ExpiresAt: credentials.current().expiresAt.toISOString(),
    });
    const text = await metrics.text();
    expect(text).toContain(`weft_config_version ${parseHlc(snapshot.version)!.wall}`);
    expect(text).toContain(`weft_config_info{version="${snapshot.version}",hash="${snapshot.hash}"} 1`);
    expect(await count('applied')).toBe(1);
  });

  it('asks with If-None-Match and counts a 304 as unchanged', async () => {
    expect(await syncTo(standIn.url).syncOnce()).toBe('unchanged');
    expect(standIn.fetches.at(-1)).toBe(304);
    expect(await count('unchanged')).toBe(1);
  });

  it.each([
    ['tampered content', async () => tamper((await cp.signedSnapshot()).jws), 'hash'],
    [
      'a foreign key',
      async () => signSnapshot(forge((await cp.signedSnapshot()).snapshot), await foreignKey()),
      'unknown-key',
    ],
    [
      'a foreign key under the trusted kid',
      async () => signSnapshot(forge((await cp.signedSnapshot()).snapshot), await foreignKey(await cp.kid())),
      'signature',
    ],
    ['another gateway', async () => (await cp.signedSnapshot('edge-2')).jws, 'wrong-gateway'],
  ])('refuses %s, counts it and keeps the applied config', async (_what, make, reason) => {
    const before = applied.current;
    const refused = await count('refused');
    standIn.serve(await make(), { hostile: true });
    const sync = syncTo(standIn.url);
    expect(await sync.syncOnce()).toBe('refused');
    expect(applied.current).toBe(before);
    expect(await count('refused')).toBe(refused + 1);
    expect(lastRefusal()).toMatchObject({ reason, applied: before?.snapshot.version });
    expect(standIn.statuses.at(-1)).toMatchObject({ appliedVersion: before?.snapshot.version, refused: 1 });
  });

  it('applies a newer version, then refuses the older one replayed', async () => {
    const older = await cp.signedSnapshot();
    await cp.apply([ordersPolicy(['GET'])]);
    const newer = await cp.signedSnapshot();
    expect(newer.snapshot.version > older.snapshot.version).toBe(true);
    standIn.serve(newer.jws);
    expect(await syncTo(standIn.url).syncOnce()).toBe('applied');
    standIn.serve(older.jws);
    expect(await syncTo(standIn.url).syncOnce()).toBe('refused');
    expect(lastRefusal()).toMatchObject({ reason: 'stale-version' });
    expect(applied.current?.snapshot.version).toBe(newer.snapshot.version);
    expect((await readFile(dataFiles(dir).snapshot, 'utf8')).trim()).toBe(newer.jws);
  });

  it('keeps the applied config when the control plane cannot be reached', async () => {
    const before = applied.current;
    const sync = syncTo('http://127.0.0.1:9');
    expect(await sync.syncOnce()).toBe('failed');
    expect(applied.current).toBe(before);
    expect(sync.problem).toMatch(/unreachable at http:\/\/127.0.0.1:9/);
  });

  it('polls with jitter, and a trigger fetches at once', async () => {
    const sync = syncTo(standIn.url, 100);
    const fetches = standIn.fetches.length;
    sync.start();
    await expect.poll(() => standIn.fetches.length, { timeout: 5_000 }).toBeGreaterThan(fetches + 2);
    await cp.apply([ordersPolicy(['GET', 'POST'])]);
    const next = await cp.signedSnapshot();
    standIn.serve(next.jws);
    await sync.trigger('test');
    expect(applied.current?.snapshot.version).toBe(next.snapshot.version);
    await sync.close();
    const after = standIn.fetches.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(standIn.fetches.length).toBe(after);
  });
});
