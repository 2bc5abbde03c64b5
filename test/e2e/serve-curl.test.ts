/**
 * End to end with the tools an operator has: `weft serve` as a process and
 * the real curl binary as the client, then a restart on the same data.
 */
import { spawn } from 'node:child_process';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_MESH, killAll, type RunningWeft, runWeft, startWeft } from '../cli/weft-process.js';
import { tempDir } from '../support/temp-dir.js';

interface CurlResult {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** `curl -s URL` with extra arguments; the status and content type come from `-w`. */
function curl(url: string, ...args: string[]): Promise<CurlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('curl', ['-s', '-w', '\n%{http_code} %{content_type}', ...args, url]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`curl exited with ${code}`));
      const cut = out.lastIndexOf('\n');
      const [status, contentType = ''] = out.slice(cut + 1).split(' ');
      resolve({ status: Number(status), contentType, body: out.slice(0, cut) });
    });
  });
}

const bearer = (token: string) => ['-H', `Authorization: Bearer ${token}`];

/** True while a process with this pid exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

let dataDir: string;
let serve: RunningWeft;

beforeAll(async () => {
  dataDir = await tempDir('weft-e2e-');
  serve = await startWeft('serve', ['--port', '0', '--data', dataDir]);
});

afterAll(killAll);

describe.sequential('weft serve, driven by curl', () => {
  it('answers /healthz without a token', async () => {
    const res = await curl(`${serve.url}/healthz`);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ status: 'ok' });
  });

  it('refuses /v1/services without a token: 401 problem+json', async () => {
    const res = await curl(`${serve.url}/v1/services`);
    expect(res.status).toBe(401);
    expect(res.contentType).toBe('application/problem+json');
    expect(JSON.parse(res.body)).toMatchObject({ status: 401, code: 'ERR_UNAUTHENTICATED' });
  });

  it('lists services with the admin token from the token file', async () => {
    const token = (await readFile(join(dataDir, 'admin-token'), 'utf8')).trim();
    const res = await curl(`${serve.url}/v1/services`, ...bearer(token));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ apiVersion: 'weft.dev/v1', kind: 'ServiceList', items: [] });
  });

  it('keeps its state across a restart and rewrites the token file', async () => {
    const applied = await runWeft(['apply', '-f', DEMO_MESH, '--server', serve.url, '--data', dataDir]);
    expect(applied.code).toBe(0);

    const pid = serve.child.pid!;
    expect(await serve.stop('SIGINT')).toBe(0);
    expect(alive(pid)).toBe(false);

    // A stale, too-open token file: the next start must replace it and close it down.
    const tokenFile = join(dataDir, 'admin-token');
    await writeFile(tokenFile, 'stale\n');
    await chmod(tokenFile, 0o644);

    serve = await startWeft('serve', ['--port', '0', '--data', dataDir]);
    const token = (await readFile(tokenFile, 'utf8')).trim();
    expect(token).toBe(serve.token);
    expect(token).not.toBe('stale');
    expect((await stat(tokenFile)).mode & 0o777).toBe(0o600);

    const res = await curl(`${serve.url}/v1/services`, ...bearer(token));
    expect(res.status).toBe(200);
    const names = JSON.parse(res.body).items.map(
      (s: { metadata: { namespace: string; name: string } }) => `${s.metadata.namespace}/${s.metadata.name}`,
    );
    expect(names).toEqual(['ops/metrics', 'shop/frontend', 'shop/orders', 'shop/payments']);
    expect(await serve.stop('SIGINT')).toBe(0);
  });
});
