/**
 * `weft serve` and `weft up` as processes: what they print, the token file
 * they write, how they refuse a taken port, and how they stop.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeTestMesh } from '../e2e/support/local-mesh.js';
import { tempDir } from '../support/temp-dir.js';
import { killAll, lines, runWeft, startWeft } from './weft-process.js';

afterAll(killAll);

describe('weft serve', () => {
  it('prints its URL, the admin token, the token file and a curl line; stops on SIGTERM', async () => {
    const cwd = await tempDir('weft-cli-serve-');
    const dataDir = join(cwd, 'state');
    const serve = await startWeft('serve', ['--port', '0', '--data', 'state'], { cwd });
    const out = serve.stdout();
    expect(out).toMatch(/^weft API listening on http:\/\/127\.0\.0\.1:\d+\n/);
    // Paths as the operator would type them, relative to where weft was started.
    expect(out).toContain('token file   state/admin-token (mode 0600)');
    expect(out).toContain(
      `curl -H "Authorization: Bearer $(cat state/admin-token)" ${serve.url}/v1/services`,
    );
    expect(out).toContain(`npx weft get services --server ${serve.url} --data state`);
    const tokenFile = join(dataDir, 'admin-token');
    expect((await readFile(tokenFile, 'utf8')).trim()).toBe(serve.token);
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);
    expect(serve.stderr()).toBe('');

    // Quiet after the summary: a write goes to the log file, not the terminal.
    const before = serve.stdout();
    const applied = await runWeft(['apply', '-f', '-', '--server', serve.url, '--data', dataDir], {
      input:
        'apiVersion: weft.dev/v1\nkind: Environment\nmetadata: {name: lab}\nspec: {provider: local, region: here}\n',
    });
    expect(applied.stdout.trim()).toBe('environment/lab created');
    expect(serve.stdout()).toBe(before);
    const log = lines(await readFile(join(dataDir, 'api.log'), 'utf8')).map((l) => JSON.parse(l));
    expect(log).toContainEqual(
      expect.objectContaining({ msg: 'resource written', kind: 'Environment', name: 'lab' }),
    );

    expect(await serve.stop('SIGTERM')).toBe(0);
    expect(lines(serve.stdout()).at(-1)).toBe('weft API stopped; state stays in state.');
  });

  it('refuses a port that is taken with one line, and exits 1', async () => {
    const serve = await startWeft('serve', ['--port', '0', '--data', await tempDir('weft-cli-serve-')]);
    const port = new URL(serve.url).port;
    const second = await runWeft(['serve', '--port', port, '--data', await tempDir('weft-cli-serve-')]);
    expect(second.code).toBe(1);
    expect(lines(second.stderr)).toEqual([
      `error: 127.0.0.1:${port} is already in use: is weft already running? Stop it, or pick another port`,
    ]);
    expect(await serve.stop()).toBe(0);
  });
});

describe('weft up', () => {
  it('applies the demo on first start, finds it unchanged on the next', async () => {
    const dataDir = await tempDir('weft-cli-up-');
    // The demo moved to its own loopback block, so this never fights an operator's `npm start`.
    const { file } = await writeTestMesh(dataDir);
    const args = ['--api-port', '0', '--data', dataDir, '--mesh', file];
    const first = await startWeft('up', args);
    expect(first.stdout()).toMatch(/^weft is up/);
    expect(first.stdout()).toMatch(/Applied \S+demo-mesh\.yaml \(22 created\):\n {2}mesh\/default created\n/);
    expect(first.stdout()).toContain(`  curl ${first.url}/v1/services`);
    expect(await first.stop()).toBe(0);

    const second = await startWeft('up', args);
    expect(second.stdout()).toMatch(/Applied \S+demo-mesh\.yaml \(22 unchanged\)\.\n\n/);
    const { stdout } = await runWeft(['get', 'routes', '--server', second.url, '--data', dataDir]);
    expect(stdout).toMatch(/orders\s+orders\s+gcp:1\s+azure,aws/);
    expect(await second.stop()).toBe(0);
    // Two starts of three control planes, three agents and six services each.
  }, 120_000);
});
