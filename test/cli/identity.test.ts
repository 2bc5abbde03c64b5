import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCsr } from '../support/csr.js';
import { DEMO_MESH, killAll, lines, type RunningWeft, runWeft, startWeft } from './weft-process.js';

describe('weft token create, weft svid inspect and weft svid mint', () => {
  let dataDir: string;
  let serve: RunningWeft;
  const conn = () => ['--server', serve.url, '--data', dataDir];
  /** `weft <command> --spiffe-id <id>` for an ID outside weft.demo: exit 1, saying which field. */
  const refusesForeignId = async (command: string[], spiffeId: string, field: string) => {
    const foreign = await runWeft([...command, '--spiffe-id', spiffeId, ...conn()]);
    expect(foreign.code).toBe(1);
    expect(lines(foreign.stderr)[0]).toMatch(
      new RegExp(`names a Gateway or Service SPIFFE ID in weft.demo: ${field} must be spiffe://weft.demo/`),
    );
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'weft-cli-identity-'));
    serve = await startWeft('serve', ['--port', '0', '--data', dataDir]);
    const applied = await runWeft(['apply', '-f', DEMO_MESH, ...conn()]);
    expect(applied.code, applied.stderr).toBe(0);
  });
  afterAll(async () => {
    await killAll();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('mints a join token that attests once, and inspects what it yields', async () => {
    const spiffeId = 'spiffe://weft.demo/gw/aws/aws-edge';
    const created = await runWeft(['token', 'create', '--spiffe-id', spiffeId, '--ttl', '5m', ...conn()]);
    expect(created.code, created.stderr).toBe(0);
    const token = created.stdout.trim();
    expect(lines(created.stdout)).toHaveLength(1); // only the token, so T=$(weft token create ...) works
    expect(created.stderr).toContain(`join token for ${spiffeId}`);

    const { csrPem: csr } = await makeCsr();
    const attest = async () =>
      fetch(`${serve.url}/v1/attest`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ attestation: { type: 'join_token', token }, csr }),
      });
    const first = await attest();
    expect(first.status).toBe(200);
    const svid = (await first.json()) as { x509Svid: { certChain: string[] }; jwtSvid: { token: string } };
    expect((await attest()).status).toBe(401);

    const pem = join(dataDir, 'svid.pem');
    await writeFile(pem, svid.x509Svid.certChain.join(''));
    const x509 = await runWeft(['svid', 'inspect', pem]);
    expect(x509.code, x509.stderr).toBe(0);
    expect(x509.stdout).toMatch(new RegExp(`SPIFFE ID\\s+${spiffeId}`));
    expect(x509.stdout).toContain('chain      2 certificate(s)');
    expect(x509.stdout).toMatch(/\(in (5\d|60) min\)/);

    const jwt = await runWeft(['svid', 'inspect', '-'], { input: svid.jwtSvid.token });
    expect(jwt.code, jwt.stderr).toBe(0);
    expect(jwt.stdout).toMatch(new RegExp(`JWT-SVID\\n\\s+SPIFFE ID\\s+${spiffeId}`));
    expect(jwt.stdout).toContain('audience   spiffe://weft.demo/gateways');
  });

  it('says what is wrong, with the exit codes scripts rely on', async () => {
    const missing = await runWeft(['token', 'create', ...conn()]);
    expect([missing.code, missing.stderr.trim()]).toEqual([
      2,
      'error: token create needs --spiffe-id; see `weft token --help`',
    ]);
    await refusesForeignId(['token', 'create'], 'spiffe://other.test/gw/x/y', '--spiffe-id');
    const garbage = await runWeft(['svid', 'inspect', '-'], { input: 'hello' });
    // A file that is no credential is the user's input to fix, not a refusal: exit 2.
    expect(garbage.code).toBe(2);
    expect(garbage.stderr).toMatch(/found neither a PEM certificate nor a JWT/);
    expect((await runWeft(['svid', 'show', 'x'])).code).toBe(2);
  });

  it('svid mint prints a fresh JWT-SVID alone, made out to the gateways unless told otherwise', async () => {
    const frontend = 'spiffe://weft.demo/ns/shop/svc/frontend';
    const minted = await runWeft(['svid', 'mint', '--spiffe-id', frontend, '--ttl', '1m', ...conn()]);
    expect(minted.code, minted.stderr).toBe(0);
    expect(lines(minted.stdout)).toHaveLength(1); // so $(weft svid mint ...) is the token
    expect(minted.stderr).toBe('');
    const jwt = await runWeft(['svid', 'inspect', '-'], { input: minted.stdout });
    expect(jwt.stdout).toMatch(new RegExp(`JWT-SVID\\n\\s+SPIFFE ID\\s+${frontend}`));
    expect(jwt.stdout).toContain('audience   spiffe://weft.demo/gateways');
    expect(jwt.stdout).toMatch(/\(in 1 min\)/);
    const audience = 'spiffe://weft.demo/ns/shop/svc/orders';
    const other = await runWeft(['svid', 'mint', '--spiffe-id', frontend, '--audience', audience, ...conn()]);
    const inspected = await runWeft(['svid', 'inspect', '-'], { input: other.stdout });
    expect(inspected.stdout).toContain(`audience   ${audience}`);
  });

  it('svid mint: --help, and one line saying what to fix', async () => {
    const help = await runWeft(['svid', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('svid mint --spiffe-id ID [--audience AUD] [--ttl DURATION]');
    expect(help.stdout).toMatch(/--spiffe-id ID\s+mint: the identity/);
    expect(help.stdout).toContain('--server URL');
    const missing = await runWeft(['svid', 'mint', ...conn()]);
    expect([missing.code, missing.stderr.trim()]).toEqual([
      2,
      'error: svid mint needs --spiffe-id; see `weft svid --help`',
    ]);
    const none = await runWeft(['svid']);
    expect([none.code, lines(none.stderr)]).toEqual([
      2,
      ['error: svid needs an action; use inspect FILE|- or mint --spiffe-id ID; see `weft svid --help`'],
    ]);
    await refusesForeignId(['svid', 'mint'], 'spiffe://other.test/ns/a/svc/b', '--spiffe-id');
    const long = await runWeft([
      'svid',
      'mint',
      '--spiffe-id',
      'spiffe://weft.demo/ns/a/svc/b',
      '--ttl',
      '1h',
      ...conn(),
    ]);
    expect(long.code).toBe(1);
    expect(lines(long.stderr)[0]).toMatch(
      /^error: --ttl must be between 10s and the Mesh's jwtSvidTtl \(300s\)/,
    );
    const anonymous = await runWeft([
      'svid',
      'mint',
      '--spiffe-id',
      'spiffe://weft.demo/ns/a/svc/b',
      '--server',
      serve.url,
      '--data',
      join(dataDir, 'nowhere'),
    ]);
    expect(anonymous.code).toBe(1);
    expect(lines(anonymous.stderr)).toHaveLength(1);
    expect(anonymous.stderr).toMatch(/operator token/);
  });
});
