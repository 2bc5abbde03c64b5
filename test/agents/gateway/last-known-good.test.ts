/**
 * Persistence: the last-known-good snapshot is written atomically (0600, no
 * temp file left) and verified again on load against the trust bundle and
 * identity saved beside it; a damaged or misaddressed file is refused, not
 * served. An interrupted SVID rotation is rolled back or forward on load so
 * key and chain always match.
 */
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapIdentity } from '../../../agents/gateway/bootstrap.js';
import { ControlPlaneClient } from '../../../agents/gateway/control-plane-client.js';
import { dataFiles, ensureDataDir } from '../../../agents/gateway/data-files.js';
import { loadLastKnownGood, saveLastKnownGood } from '../../../agents/gateway/last-known-good.js';
import { newSvidKey } from '../../../agents/gateway/svid-key.js';
import { loadSvid, saveSvid } from '../../../agents/gateway/svid-store.js';
import { tempDir } from '../../support/temp-dir.js';
import { tamper } from './support/forgery.js';
import { memoryLog } from './support/logs.js';
import { ENV, GW, type MeshHost, startMeshHost } from './support/mesh-host.js';

const gateway = { environment: ENV, name: GW };

describe('last-known-good and the saved identity', () => {
  let cp: MeshHost;
  let dir: string;

  beforeAll(async () => {
    cp = await startMeshHost();
    dir = await tempDir('weft-agent-lkg-');
    await ensureDataDir(dir);
    const { logger } = memoryLog();
    const client = new ControlPlaneClient({ url: cp.url });
    await bootstrapIdentity({
      client,
      files: dataFiles(dir),
      gateway,
      joinToken: await cp.joinToken(),
      logger,
      now: Date.now,
    });
  });
  afterAll(() => cp?.close());

  it('has none on a first start', async () => {
    expect(await loadLastKnownGood(dataFiles(dir), gateway)).toEqual({ kind: 'none' });
  });

  it('saves atomically, owner-only, and loads it verified with the saved bundle, no network', async () => {
    const { snapshot, jws } = await cp.signedSnapshot();
    await saveLastKnownGood(dataFiles(dir), jws);
    expect((await stat(dataFiles(dir).snapshot)).mode & 0o777).toBe(0o600);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const loaded = await loadLastKnownGood(dataFiles(dir), gateway);
    expect(loaded).toMatchObject({ kind: 'loaded', jws });
    expect(loaded.kind === 'loaded' && loaded.snapshot).toEqual(snapshot);
  });

  it('refuses a tampered file, and one for another gateway', async () => {
    const { jws } = await cp.signedSnapshot();
    await writeFile(dataFiles(dir).snapshot, tamper(jws));
    expect(await loadLastKnownGood(dataFiles(dir), gateway)).toMatchObject({
      kind: 'refused',
      why: /^hash:/,
    });
    await saveLastKnownGood(dataFiles(dir), (await cp.signedSnapshot('edge-2')).jws);
    expect(await loadLastKnownGood(dataFiles(dir), gateway)).toMatchObject({
      kind: 'refused',
      why: /^wrong-gateway:/,
    });
  });

  it('rolls an interrupted rotation back (both staged) or forward (only the chain left)', async () => {
    const files = dataFiles(dir);
    const saved = (await loadSvid(files))!;
    const fresh = await newSvidKey();
    // Crashed after staging both: the old pair stays.
    await writeFile(`${files.svidKey}.next`, fresh.keyPem, { mode: 0o600 });
    await writeFile(`${files.svidChain}.next`, 'half a chain', { mode: 0o600 });
    expect((await loadSvid(files))?.keyPem).toBe(saved.keyPem);
    expect(await readdir(dir)).not.toContain('svid.pem.next');
    // Crashed between the two renames: the key is new, the staged chain completes the pair.
    await saveSvid(files, saved.keyPem, saved.certChain);
    await writeFile(`${files.svidChain}.next`, saved.certChain.join(''), { mode: 0o600 });
    await writeFile(files.svidChain, 'the old chain', { mode: 0o600 });
    const loaded = await loadSvid(files);
    expect(loaded?.certChain).toEqual(saved.certChain);
    expect(await readFile(files.svidChain, 'utf8')).toBe(saved.certChain.join(''));
  });
});
