/**
 * A cloud's control plane dies and comes back, under `weft up`'s three
 * control planes, with real processes throughout: aws's `weft serve` is
 * SIGKILLed in the middle of an apply; a write at gcp reaches every
 * gateway, aws's included (it fetches from another cloud); aws's gateway
 * renews its X.509-SVID and its JWT-SVID at another cloud (the Mesh's TTLs
 * are 1 minute and 20 s here); calls through the data plane meanwhile all
 * succeed; `start aws` typed into weft up brings aws back, every cloud ends
 * with the same state (what aws wrote before it died included), and its
 * gateway goes home.
 */

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProcess } from '../support/run-process.js';
import { GATEWAY, WeftUp } from './support/weft-up.js';

const FRONTEND = 'spiffe://weft.demo/ns/shop/svc/frontend';
let t: WeftUp;

beforeAll(async () => {
  t = await WeftUp.create({ x509SvidTtl: '1m', jwtSvidTtl: '20s' });
  await t.start();
}, 120_000);
afterAll(() => t?.cleanup());

const review = (name: string) =>
  `apiVersion: weft.dev/v1\nkind: Service\nmetadata: {name: ${name}, namespace: shop}\nspec:\n  ports: [{port: 8080}]\n`;

/** The aws gateway's view of its control planes and credentials. */
async function awsGateway() {
  const health = (await (await fetch(`${t.mesh.admins.aws}/healthz`)).json()) as {
    controlPlane: { current: string; home: string; atHome: boolean };
  };
  const metrics = await (await fetch(`${t.mesh.admins.aws}/metrics`)).text();
  const expiry = Number(
    /weft_credential_expiry_timestamp_seconds\{credential="x509-svid"\} (\S+)/.exec(metrics)?.[1],
  );
  const config = (await (await fetch(`${t.mesh.admins.aws}/config`)).json()) as { version: string };
  return { ...health.controlPlane, x509ExpiresAt: expiry, version: config.version };
}

async function until<T>(check: () => Promise<T | false | undefined>, what: string, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('weft up: one cloud down and back', () => {
  it('keeps every gateway applying writes and renewing, with no failed call, and aws catches up', async () => {
    const urls = Object.fromEntries(
      [...t.up.stdout().matchAll(/^ {2}(aws|gcp|azure)\s+(http:\/\/\S+)\s/gm)].map((m) => [m[1], m[2]]),
    ) as Record<'aws' | 'gcp' | 'azure', string>;
    expect(Object.keys(urls)).toEqual(['aws', 'gcp', 'azure']);
    const at = (cloud: keyof typeof urls, args: string[]) =>
      runProcess(process.execPath, [
        join(__dirname, '../../bin/weft.js'),
        ...args,
        '--server',
        urls[cloud],
        '--data',
        t.data,
      ]);

    // Calls from aws's egress to orders (in gcp and azure), as frontend, all the while,
    // each with a fresh JWT-SVID (they live 20 s here) minted at gcp, which stays up.
    const results: number[] = [];
    let calling = true;
    const caller = (async () => {
      while (calling) {
        const token = (await at('gcp', ['svid', 'mint', '--spiffe-id', FRONTEND])).stdout.trim();
        const { stdout } = await runProcess('curl', [
          ...['-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '5'],
          ...['-x', `${t.mesh.hosts.aws}:15001`, '-H', `Authorization: Bearer ${token}`],
          'http://orders.shop.weft.internal/orders/7',
        ]);
        results.push(Number(stdout));
        await new Promise((r) => setTimeout(r, 200));
      }
    })();

    const before = await awsGateway();
    expect(before.atHome).toBe(true);
    // Killed in the middle of an apply of 100 Services: what it stored before it died is its own.
    const bulk = join(t.dir, 'bulk.yaml');
    await writeFile(bulk, Array.from({ length: 100 }, (_, i) => review(`bulk-${i}`)).join('---\n'));
    const applying = at('aws', ['apply', '-f', bulk]);
    const token = (await readFile(join(t.data, 'admin-token'), 'utf8')).trim();
    // Once the first of them is stored (the apply writes them one by one), not before.
    await until(
      async () =>
        (
          await fetch(`${urls.aws}/v1/services/shop/bulk-0`, {
            headers: { authorization: `Bearer ${token}` },
          })
        ).status === 200,
      'the apply at aws to be under way',
      20_000,
    );
    process.kill(t.controlPlanePids().aws, 'SIGKILL');
    const cut = await applying;
    expect(cut.code, 'the apply was cut short').toBe(1);
    await until(
      async () => /control plane aws exited on its own/.test(t.up.stderr()),
      'weft up to see aws die',
      10_000,
    );

    // A write at gcp that every gateway's config carries (the mesh's service catalogue).
    const file = join(t.dir, 'reviews.yaml');
    await writeFile(file, review('reviews'));
    const applied = await at('gcp', ['apply', '-f', file]);
    expect(applied.code, applied.stderr).toBe(0);
    const written = JSON.parse(
      (await at('gcp', ['get', 'svc', 'reviews', '-n', 'shop', '-o', 'json'])).stdout,
    ).status.version as string;
    for (const env of ['gcp', 'azure'] as const) {
      await until(
        async () =>
          ((await (await fetch(`${t.mesh.admins[env]}/config`)).json()) as { version: string }).version >=
          written,
        `${env} to apply the write`,
        30_000,
      );
    }
    const away = await until(
      async () => {
        const g = await awsGateway();
        return g.version >= written && !g.atHome && g;
      },
      "aws's gateway to take the write from another cloud",
      40_000,
    );
    expect(away.current).not.toBe(away.home);

    // Its X.509-SVID (1 minute) renewed while its home is down.
    await until(
      async () => (await awsGateway()).x509ExpiresAt > before.x509ExpiresAt && true,
      'an X.509 renewal',
      60_000,
    );

    // The CLI's shorthand for a cloud of the mesh: its URL from DATA/federation.json.
    const viaCloud = await runProcess(process.execPath, [
      join(__dirname, '../../bin/weft.js'),
      ...['get', 'svc', 'reviews', '-n', 'shop', '--cloud', 'azure', '--data', t.data],
    ]);
    expect(viaCloud.code, viaCloud.stderr).toBe(0);

    // aws back: it catches up, and its gateway goes home.
    t.up.type('start aws');
    await until(
      async () => (await at('aws', ['get', 'svc', 'reviews', '-n', 'shop'])).code === 0,
      'aws to catch up',
      30_000,
    );
    await until(async () => (await awsGateway()).atHome, "aws's gateway to go home", 45_000);
    // Every cloud ends with the same Services, those aws stored before it died among them.
    const services = async (cloud: keyof typeof urls) =>
      JSON.stringify(
        (
          JSON.parse((await at(cloud, ['get', 'svc', '-n', 'shop', '-o', 'json'])).stdout) as {
            items: { metadata: { name: string }; status: { version: string } }[];
          }
        ).items.map((i) => `${i.metadata.name}@${i.status.version}`),
      );
    await until(
      async () => {
        const [a, g, z] = await Promise.all([services('aws'), services('gcp'), services('azure')]);
        return a === g && g === z;
      },
      'the same Services at every cloud',
      30_000,
    );

    calling = false;
    await caller;
    expect(results.length).toBeGreaterThan(20);
    expect(results.filter((s) => s !== 200)).toEqual([]);
    expect(GATEWAY.aws).toBe('aws-edge');
  }, 240_000);
});
