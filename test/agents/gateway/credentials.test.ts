/**
 * The agent's identity against the real local host: attestation with a
 * one-time join token, the files it keeps (0600 in 0700), a restart that
 * needs no token and no network, rotation at half-life with a new key each
 * time (the clock is moved, the control plane's is real), the JWT-SVID for
 * the control plane, and the message an operator gets when the SVID expired
 * while the agent was down.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapIdentity } from '../../../agents/gateway/bootstrap.js';
import { ControlPlaneClient } from '../../../agents/gateway/control-plane-client.js';
import { AgentCredentials } from '../../../agents/gateway/credentials.js';
import { dataFiles, ensureDataDir } from '../../../agents/gateway/data-files.js';
import { JoinTokenNeededError } from '../../../agents/gateway/errors.js';
import { AgentMetrics } from '../../../agents/gateway/metrics.js';
import { tempDir } from '../../support/temp-dir.js';
import { memoryLog } from './support/logs.js';
import { ENV, GATEWAY_ID, GW, type MeshHost, startMeshHost, TD } from './support/mesh-host.js';

const gateway = { environment: ENV, name: GW };
const noNetwork: typeof fetch = () => Promise.reject(new Error('the test forbids network here'));

describe('agent credentials', () => {
  let cp: MeshHost;
  let dir: string;
  const log = memoryLog();
  const client = () => new ControlPlaneClient({ url: cp.url });
  const boot = (joinToken: string | undefined, options: { now?: () => number; fetch?: typeof fetch } = {}) =>
    bootstrapIdentity({
      client: options.fetch ? new ControlPlaneClient({ url: cp.url, fetch: options.fetch }) : client(),
      files: dataFiles(dir),
      gateway,
      joinToken,
      logger: log.logger,
      now: options.now ?? Date.now,
      retry: { baseMs: 20, capMs: 50 },
    });

  beforeAll(async () => {
    cp = await startMeshHost({ x509SvidTtl: '1m' });
    dir = `${await tempDir('weft-agent-creds-')}/data`;
    await ensureDataDir(dir);
  });
  afterAll(() => cp?.close());

  it('needs a join token on first start, and says how to get one', async () => {
    const error = await boot(undefined).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JoinTokenNeededError);
    expect((error as Error).message).toMatch(/no identity in .* and no join token/);
    expect((error as Error).message).toContain(
      `weft token create --spiffe-id spiffe://<trust-domain>/gw/${ENV}/${GW}`,
    );
  });

  it('refuses a join token for another gateway without keeping anything', async () => {
    const other = await cp.joinToken(`spiffe://${TD}/gw/${ENV}/edge-2`);
    await expect(boot(other)).rejects.toThrow(
      /is for spiffe:\/\/agent.test\/gw\/aws\/edge-2, not gateway aws\/edge-1/,
    );
    await expect(stat(dataFiles(dir).svidKey)).rejects.toThrow(/ENOENT/);
  });

  it('attests with the join token, retrying while the control plane is unreachable; keeps key, SVID and bundle owner-only', async () => {
    let failures = 2;
    const flaky: typeof fetch = (input, init) =>
      failures-- > 0 ? Promise.reject(new TypeError('fetch failed')) : fetch(input, init);
    const identity = await boot(await cp.joinToken(), { fetch: flaky });
    expect(identity.svid.spiffeId).toBe(GATEWAY_ID);
    expect(log.lines.filter((l) => l.msg === 'cannot attest yet; retrying')).toHaveLength(2);
    const files = dataFiles(dir);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    for (const file of [files.svidKey, files.svidChain, files.bundle])
      expect((await stat(file)).mode & 0o777).toBe(0o600);
    const leaf = new X509Certificate(await readFile(files.svidChain, 'utf8'));
    expect(leaf.subjectAltName).toBe(`URI:${GATEWAY_ID}`);
    expect(leaf.checkPrivateKey(createPrivateKey(await readFile(files.svidKey, 'utf8')))).toBe(true);
    // A 1m TTL: renewal is due at half-life.
    expect(identity.svid.renewAt.getTime() - identity.svid.notBefore.getTime()).toBe(30_000);
  });

  it('restarts from the data directory with no network and leaves a given join token unspent', async () => {
    const token = await cp.joinToken();
    const identity = await boot(token, { fetch: noNetwork });
    expect(identity.svid.spiffeId).toBe(GATEWAY_ID);
    expect(log.lines.at(-2)?.msg).toMatch(/join token was not used/);
    // Still good: the restart did not spend it.
    const fresh = await tempDir('weft-agent-creds-');
    const again = await bootstrapIdentity({
      client: client(),
      files: dataFiles(fresh),
      gateway,
      joinToken: token,
      logger: log.logger,
      now: Date.now,
    });
    expect(again.svid.spiffeId).toBe(GATEWAY_ID);
  });

  it('says a new join token is needed when the SVID expired while the agent was down', async () => {
    const later = Date.now() + 120_000;
    const error = await boot(undefined, { now: () => later, fetch: noNetwork }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JoinTokenNeededError);
    expect((error as Error).message).toMatch(/the X.509-SVID expired at .*a new join token is needed/);
    expect((error as Error).message).toContain(`weft token create --spiffe-id ${GATEWAY_ID}`);
  });

  it('rotates the X.509-SVID at half-life with a new key, and refreshes the JWT-SVID for the control plane', async () => {
    let now = Date.now();
    const metrics = new AgentMetrics();
    const credentials = new AgentCredentials(await boot(undefined, { now: () => now }), {
      client: client(),
      files: dataFiles(dir),
      gateway,
      logger: log.logger,
      metrics,
      now: () => now,
    });
    const rotated: string[] = [];
    credentials.onChange((c) => rotated.push(c.certChainPem[0]!));
    const before = credentials.current();

    const jwt = await credentials.controlPlaneToken();
    expect(decodeJwt(jwt)).toMatchObject({ sub: GATEWAY_ID, aud: `spiffe://${TD}/control-plane` });
    expect(await credentials.controlPlaneToken()).toBe(jwt);

    await credentials.tick(); // nothing due yet
    expect(rotated).toHaveLength(0);
    now += 31_000;
    await credentials.tick();
    expect(rotated).toHaveLength(1);
    const after = credentials.current();
    expect(after.keyPem).not.toBe(before.keyPem);
    expect(new X509Certificate(after.certChainPem[0]!).serialNumber).not.toBe(
      new X509Certificate(before.certChainPem[0]!).serialNumber,
    );
    expect(await readFile(dataFiles(dir).svidKey, 'utf8')).toBe(after.keyPem);
    expect(credentials.unready()).toBeUndefined();
    // The JWT-SVID (1m TTL) is past half-life too: a new one, proven by the new key.
    expect(await credentials.controlPlaneToken()).not.toBe(jwt);
    expect(await metrics.text()).toMatch(
      /weft_credential_expiry_timestamp_seconds\{credential="x509-svid"\} \d+/,
    );
    expect(log.text()).not.toContain('PRIVATE KEY');
    expect(log.text()).not.toContain(jwt);

    now += 120_000;
    expect(credentials.unready()).toMatch(/expired at .*a new join token is needed/);
    await credentials.close();
  });
});
