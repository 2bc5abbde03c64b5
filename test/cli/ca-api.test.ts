/**
 * `weft ca csr` and `weft ca install` through a cloud's API, as for a cloud
 * whose CA state and keys are out of reach (AWS: S3 and KMS): a real
 * `weft serve --mesh --cloud aws` on a federated mesh `weft ca init` made,
 * rotated to a new intermediate that the offline root signs in between.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBundle } from '../../shared/identity/bundle.js';
import { x509 } from '../../shared/identity/x509.js';
import { freePort } from '../agents/gateway/support/agent-process.js';
import { tempDir } from '../support/temp-dir.js';
import { DEMO_MESH, killAll, type RunningWeft, runWeft, startWeft } from './weft-process.js';

describe('weft ca csr and install --server', () => {
  let mesh: string;
  let aws: RunningWeft;
  const bundle = async () =>
    parseBundle((await (await fetch(`${aws.url}/v1/bundle`)).json()) as Record<string, unknown>);

  beforeAll(async () => {
    mesh = await tempDir('weft-ca-api-');
    const url = `http://127.0.0.1:${await freePort()}`;
    const init = await runWeft([
      'ca',
      'init',
      '--mesh',
      mesh,
      '--trust-domain',
      'weft.demo',
      '--cloud',
      `aws=${url}`,
    ]);
    expect(init.code, init.stderr).toBe(0);
    aws = await startWeft('serve', ['--mesh', mesh, '--cloud', 'aws']);
    const applied = await runWeft(['apply', '-f', DEMO_MESH, '--server', aws.url, '--token', aws.token]);
    expect(applied.code, applied.stderr).toBe(0);
  }, 90_000);
  afterAll(() => killAll());

  it('asks the API for a CSR, and installs what the root signed of it', async () => {
    const before = await bundle();
    const csr = await runWeft(['ca', 'csr', '--server', aws.url, '--token', aws.token]);
    expect(csr.code, csr.stderr).toBe(0);
    expect(csr.stdout).toMatch(
      /^-----BEGIN CERTIFICATE REQUEST-----\n[\s\S]+-----END CERTIFICATE REQUEST-----\n$/,
    );
    expect(csr.stderr).toMatch(/aws: sign it with weft ca sign/);
    await writeFile(join(mesh, 'aws.csr'), csr.stdout);

    const signed = await runWeft([
      'ca',
      'sign',
      '--root',
      join(mesh, 'root'),
      '--cloud',
      'aws',
      '--csr',
      join(mesh, 'aws.csr'),
    ]);
    expect(signed.code, signed.stderr).toBe(0);
    await writeFile(join(mesh, 'aws.pem'), signed.stdout);

    // The token from MESH/admin-token, the URL from MESH/federation.json: the connection flags.
    const installed = await runWeft([
      'ca',
      'install',
      '--cloud',
      'aws',
      '--data',
      mesh,
      '--cert',
      join(mesh, 'aws.pem'),
    ]);
    expect(installed.code, installed.stderr).toBe(0);
    expect(installed.stderr).toMatch(/aws: the new intermediate \(until .+\) issues from now on/);

    const after = await bundle();
    expect(after.sequence).toBeGreaterThan(before.sequence);
    const serial = new x509.X509Certificate(signed.stdout).serialNumber;
    expect(after.x509Authorities.map((a) => a.certificate.serialNumber)).toContain(serial);
    // The old intermediate stays trusted until it expires.
    expect(after.x509Authorities).toHaveLength(before.x509Authorities.length + 1);
  }, 60_000);

  it("exits 1 with the API's reason when the certificate is not for the pending key", async () => {
    const csr = await runWeft(['ca', 'csr', '--server', aws.url, '--token', aws.token]);
    expect(csr.code, csr.stderr).toBe(0);
    // The intermediate installed above: signed for a key no longer pending.
    const refused = await runWeft([
      'ca',
      'install',
      '--server',
      aws.url,
      '--token',
      aws.token,
      '--cert',
      join(mesh, 'aws.pem'),
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/--cert.*another key than this CA’s pending intermediate key/);
  }, 60_000);

  it('exits 2 with a one-line fix for flags that do not add up', async () => {
    const cases: [string[], RegExp][] = [
      [['ca', 'csr'], /ca csr needs --server URL .* or --root-cert FILE/],
      [['ca', 'csr', '--server', aws.url, '--root-cert', 'root.pem'], /not both/],
      [['ca', 'install', '--server', aws.url], /ca install needs --cert/],
      [
        ['ca', 'install', '--server', aws.url, '--cert', join(mesh, 'missing.pem')],
        /cannot read .*missing\.pem/,
      ],
      [
        ['ca', 'csr', '--cloud', 'aws', '--data', join(mesh, 'aws')],
        /federation\.json does not exist; give --root-cert/,
      ],
    ];
    for (const [args, message] of cases) {
      const run = await runWeft(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(run.stderr).toMatch(message);
    }
    // The local form still works on the data directory, beside the running server.
    const root = join(mesh, 'root', 'root.pem');
    const local = await runWeft([
      'ca',
      'csr',
      '--data',
      join(mesh, 'aws'),
      '--cloud',
      'aws',
      '--root-cert',
      root,
    ]);
    expect(local.code, local.stderr).toBe(0);
    expect(local.stdout).toMatch(/BEGIN CERTIFICATE REQUEST/);
  }, 60_000);
});
