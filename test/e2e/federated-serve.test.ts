/**
 * Three control planes as three real processes, the way an operator runs a
 * federated mesh on one machine: `weft ca init` makes the offline root and
 * each cloud's CA, `weft serve --mesh --cloud` runs aws, gcp and azure. A
 * mesh applied at aws is at every cloud; every cloud serves the same trust
 * bundle; a JWT-SVID minted at gcp verifies with aws's bundle; with aws
 * SIGKILLed, a write at gcp still reaches azure, and aws, started again,
 * catches up by anti-entropy.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBundle } from '../../shared/identity/bundle.js';
import { JwtSvidVerifier } from '../../shared/identity/jwt-svid.js';
import { freePort } from '../agents/gateway/support/agent-process.js';
import { DEMO_MESH, killAll, type RunningWeft, runWeft, startWeft } from '../cli/weft-process.js';
import { tempDir } from '../support/temp-dir.js';

const CLOUDS = ['aws', 'gcp', 'azure'] as const;
type Cloud = (typeof CLOUDS)[number];

async function until<T>(check: () => Promise<T | undefined | false>, what: string, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('a federated mesh of three weft serve processes', () => {
  let mesh: string;
  const urls = {} as Record<Cloud, string>;
  const running = {} as Record<Cloud, RunningWeft | undefined>;
  const serve = async (cloud: Cloud) => {
    running[cloud] = await startWeft('serve', [
      '--mesh',
      mesh,
      '--cloud',
      cloud,
      '--anti-entropy-interval',
      '300ms',
    ]);
  };
  const weft = (cloud: Cloud, args: string[]) => runWeft([...args, '--server', urls[cloud], '--data', mesh]);
  const get = async (cloud: Cloud, path: string) => {
    const res = await fetch(`${urls[cloud]}${path}`, {
      headers: { authorization: `Bearer ${running[cloud]!.token}` },
    });
    return { status: res.status, body: await res.text() };
  };

  beforeAll(async () => {
    mesh = await tempDir('weft-federated-');
    const flags: string[] = [];
    for (const cloud of CLOUDS) {
      urls[cloud] = `http://127.0.0.1:${await freePort()}`;
      flags.push('--cloud', `${cloud}=${urls[cloud]}`);
    }
    const init = await runWeft(['ca', 'init', '--mesh', mesh, '--trust-domain', 'weft.demo', ...flags]);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout.trim()).toBe(join(mesh, 'federation.json'));
    await Promise.all(CLOUDS.map(serve));
  }, 90_000);
  afterAll(() => killAll());

  it('has the mesh applied at aws at every cloud, and one trust bundle', async () => {
    const applied = await weft('aws', ['apply', '-f', DEMO_MESH]);
    expect(applied.code, applied.stderr).toBe(0);
    for (const cloud of CLOUDS) {
      await until(
        async () => JSON.parse((await get(cloud, '/v1/gateways')).body).items?.length === 3,
        `${cloud}'s gateways`,
      );
    }
    const digestOf = async (cloud: Cloud) =>
      createHash('sha256')
        .update((await get(cloud, '/v1/bundle')).body)
        .digest('hex');
    await until(async () => {
      const digests = await Promise.all(CLOUDS.map(digestOf));
      const bundle = parseBundle(JSON.parse((await get('aws', '/v1/bundle')).body));
      // The root, an intermediate per cloud, and a JWT key per cloud, the same at each.
      return new Set(digests).size === 1 && bundle.x509Authorities.length === 4 && bundle.jwtKeys.size === 3;
    }, 'the same bundle at every cloud');
  }, 60_000);

  it('trusts at aws a JWT-SVID gcp minted', async () => {
    const spiffeId = 'spiffe://weft.demo/ns/shop/svc/frontend';
    const minted = await weft('gcp', ['svid', 'mint', '--spiffe-id', spiffeId]);
    expect(minted.code, minted.stderr).toBe(0);
    const bundle = parseBundle(JSON.parse((await get('aws', '/v1/bundle')).body));
    await expect(
      new JwtSvidVerifier({ bundle }).verify(minted.stdout.trim(), 'spiffe://weft.demo/gateways'),
    ).resolves.toMatchObject({ spiffeId });
  });

  it('keeps replicating with aws killed, and aws catches up when it is back', async () => {
    expect(await running.aws!.stop('SIGKILL')).toBe(null);
    running.aws = undefined;
    const applied = await weft('gcp', ['apply', '-f', join(DEMO_MESH, '..', 'payments-policy.yaml')]);
    expect(applied.code, applied.stderr).toBe(0);
    const path = '/v1/accesspolicies/shop/frontend-reads-payments';
    const version = JSON.parse((await get('gcp', path)).body).status.version as string;
    await until(async () => JSON.parse((await get('azure', path)).body).status?.version === version, 'azure');
    await serve('aws');
    await until(
      async () => JSON.parse((await get('aws', path)).body).status?.version === version,
      'aws catching up',
    );
  }, 90_000);
});
