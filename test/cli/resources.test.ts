/**
 * apply, get and delete against a real `weft serve` on a temporary data
 * directory. The tests run in order: each builds on the state the last left.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { tempDir } from '../support/temp-dir.js';
import { DEMO_MESH, killAll, lines, type RunningWeft, runWeft, startWeft } from './weft-process.js';

let serve: RunningWeft;
let dataDir: string;
let work: string;
/** What a client on this machine has: the server's URL, and the data dir holding the token. */
let env: Record<string, string>;

const weft = (args: string[], input?: string) =>
  runWeft(args, { env, cwd: work, ...(input !== undefined && { input }) });

beforeAll(async () => {
  dataDir = await tempDir('weft-cli-data-');
  work = await tempDir('weft-cli-work-');
  serve = await startWeft('serve', ['--port', '0', '--data', dataDir]);
  env = { WEFT_SERVER: serve.url, WEFT_DATA: dataDir };
});

afterAll(killAll);

const service = (name: string, namespace: string, port: number, extra = '') =>
  `apiVersion: weft.dev/v1
kind: Service
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
  ports:
    - port: ${port}
${extra}`;

describe.sequential('weft apply, get and delete', () => {
  it('applies the demo mesh: one created line per document', async () => {
    const { code, stdout, stderr } = await weft(['apply', '-f', DEMO_MESH]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const out = lines(stdout);
    expect(out).toHaveLength(22);
    expect(out.every((l) => l.endsWith(' created'))).toBe(true);
    expect(out).toContain('mesh/default created');
    expect(out).toContain('service/orders (shop) created');
    expect(out).toContain('route/orders (shop) created');
  });

  it('applies it again as unchanged', async () => {
    const { code, stdout } = await weft(['apply', '-f', DEMO_MESH]);
    expect(code).toBe(0);
    const out = lines(stdout);
    expect(out).toHaveLength(22);
    expect(out.every((l) => l.endsWith(' unchanged'))).toBe(true);
  });

  it('--dry-run says what would change and writes nothing', async () => {
    const file = join(work, 'changes.yaml');
    await writeFile(file, `${service('cart', 'shop', 80)}---\n${service('orders', 'shop', 8000)}`);
    const { code, stdout } = await weft(['apply', '-f', 'changes.yaml', '--dry-run']);
    expect(code).toBe(0);
    expect(lines(stdout)).toEqual([
      'service/cart (shop) created (dry run)',
      'service/orders (shop) configured (dry run)',
    ]);
    expect((await weft(['get', 'svc', 'cart', '-n', 'shop'])).code).toBe(1);
    const orders = JSON.parse((await weft(['get', 'svc', 'orders', '-n', 'shop', '-o', 'json'])).stdout);
    expect(orders.spec.ports[0].port).toBe(80);
  });

  it('get prints a table with the columns of the kind', async () => {
    const { code, stdout } = await weft(['get', 'services']);
    expect(code).toBe(0);
    const [header, ...rows] = lines(stdout);
    expect(header!.split(/\s{2,}/)).toEqual(['NAMESPACE', 'NAME', 'PROTOCOL', 'PORTS', 'VERSION', 'AGE']);
    expect(rows.map((r) => r.split(/\s+/).slice(0, 2).join('/'))).toEqual([
      'ops/metrics',
      'shop/frontend',
      'shop/orders',
      'shop/payments',
    ]);
    expect(rows[2]).toMatch(/^shop\s+orders\s+http\s+80:8082\s+\d{13}-\d{6}-local\s+\d+s$/);

    const shop = lines((await weft(['get', 'svc', '-n', 'shop'])).stdout);
    expect(shop[0]).toMatch(/^NAME\s+PROTOCOL/);
    expect(shop).toHaveLength(4);

    const routes = lines((await weft(['get', 'rt'])).stdout);
    expect(routes[0]!.split(/\s{2,}/)).toEqual([
      'NAMESPACE',
      'NAME',
      'SERVICE',
      'BACKENDS',
      'FAILOVER',
      'RULES',
      'VERSION',
      'AGE',
    ]);
    expect(routes[1]).toMatch(/^shop\s+orders\s+orders\s+gcp:1\s+azure,aws\s+1\s/);
  });

  it('get -l filters by label, and says so when nothing matches', async () => {
    const { stdout } = await weft(['get', 'workloads', '-l', 'app=orders']);
    expect(
      lines(stdout)
        .slice(1)
        .map((r) => r.split(/\s+/)[1]),
    ).toEqual(['orders-aws-1', 'orders-azure-1', 'orders-gcp-1']);
    const none = await weft(['get', 'workloads', '-l', 'app=nothing']);
    expect(none.code).toBe(0);
    expect(none.stdout).toBe('');
    expect(none.stderr.trim()).toBe('No workloads found matching app=nothing.');
  });

  it('get -o json prints the API list, or the document', async () => {
    const list = JSON.parse((await weft(['get', 'svc', '-o', 'json'])).stdout);
    expect(list.kind).toBe('ServiceList');
    expect(list.items).toHaveLength(4);
    const env = JSON.parse((await weft(['get', 'environment', 'gcp', '-o', 'json'])).stdout);
    expect(env).toMatchObject({
      kind: 'Environment',
      metadata: { name: 'gcp' },
      spec: { region: 'europe-west1' },
    });
    expect(env.status.version).toMatch(/-local$/);
  });

  it('get NAME without -n finds the resource in its namespace', async () => {
    const { code, stdout } = await weft(['get', 'svc', 'metrics']);
    expect(code).toBe(0);
    expect(lines(stdout)[1]).toMatch(/^ops\s+metrics\s/);
  });

  it('get -o yaml round-trips through apply -f - as unchanged', async () => {
    const yaml = (await weft(['get', 'services', '-o', 'yaml'])).stdout;
    const docs = parseAllDocuments(yaml).map((d) => d.toJS());
    expect(docs.map((d) => d.metadata.name)).toEqual(['metrics', 'frontend', 'orders', 'payments']);
    const { code, stdout, stderr } = await weft(['apply', '-f', '-'], yaml);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(lines(stdout)).toEqual([
      'service/metrics (ops) unchanged',
      'service/frontend (shop) unchanged',
      'service/orders (shop) unchanged',
      'service/payments (shop) unchanged',
    ]);
  });

  it('applies every manifest of a directory, in name order', async () => {
    const dir = join(work, 'manifests');
    await mkdir(dir);
    await writeFile(join(dir, 'b.yaml'), service('cart', 'shop', 80));
    const search = {
      apiVersion: 'weft.dev/v1',
      kind: 'Service',
      metadata: { name: 'search', namespace: 'shop' },
    };
    await writeFile(join(dir, 'a.json'), JSON.stringify([{ ...search, spec: { ports: [{ port: 80 }] } }]));
    await writeFile(join(dir, 'notes.txt'), 'not a manifest');
    const { code, stdout } = await weft(['apply', '-f', 'manifests']);
    expect(code).toBe(0);
    expect(lines(stdout)).toEqual(['service/search (shop) created', 'service/cart (shop) created']);
  });

  it('refuses a bad document with its field and file, and writes none of the batch', async () => {
    const file = join(work, 'bad.yaml');
    await writeFile(
      file,
      `${service('good', 'shop', 80)}---\n${service('bad', 'shop', 99999, '  color: red\n')}`,
    );
    const { code, stdout, stderr } = await weft(['apply', '-f', 'bad.yaml']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    const [first, ...rest] = lines(stderr);
    expect(first).toBe(
      'error: bad.yaml, document 2 (Service shop/bad): spec.ports[0].port must be at most 65535; nothing was written; fix it and run the command again',
    );
    expect(rest).toEqual([
      expect.stringMatching(
        /^ {2}bad.yaml, document 2 \(Service shop\/bad\): spec.color is not a known field; /,
      ),
    ]);
    expect((await weft(['get', 'svc', 'good', '-n', 'shop'])).code).toBe(1);
  });

  it('refuses a file that is not YAML, naming the line', async () => {
    await writeFile(join(work, 'broken.yaml'), 'kind: [Service\n');
    const { code, stderr } = await weft(['apply', '-f', 'broken.yaml']);
    expect(code).toBe(2);
    expect(lines(stderr)).toHaveLength(1);
    expect(stderr).toMatch(/^error: broken.yaml is not valid YAML \(line \d+, column \d+\): /);
  });

  it('delete removes it; get then exits 1 with a clear line', async () => {
    const deleted = await weft(['delete', 'svc', 'metrics', '-n', 'ops']);
    expect(deleted.code).toBe(0);
    expect(deleted.stdout.trim()).toBe('service/metrics (ops) deleted');
    const get = await weft(['get', 'svc', 'metrics', '-n', 'ops']);
    expect(get.code).toBe(1);
    expect(lines(get.stderr)).toEqual([
      'error: Service/ops/metrics does not exist; list what exists with `weft get services`',
    ]);
    const again = await weft(['delete', 'svc', 'metrics']);
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toBe(
      'error: service/metrics does not exist in any namespace; list what exists with `weft get services`',
    );
  });

  it('deletes a cluster-scoped resource by name', async () => {
    await weft(
      ['apply', '-f', '-'],
      'apiVersion: weft.dev/v1\nkind: Environment\nmetadata: {name: lab}\nspec: {provider: onprem, region: lab-1}\n',
    );
    const { code, stdout } = await weft(['delete', 'env', 'lab']);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe('environment/lab deleted');
  });
});

describe('tokens', () => {
  it('without a token: exit 1, the API detail and what to do', async () => {
    const empty = await tempDir('weft-cli-notoken-');
    const { code, stderr } = await runWeft(['get', 'services'], {
      env: { WEFT_SERVER: serve.url, WEFT_TOKEN: '', WEFT_DATA: empty },
    });
    expect(code).toBe(1);
    expect(lines(stderr)).toHaveLength(1);
    expect(stderr).toMatch(/^error: this endpoint needs an operator token/);
    expect(stderr).toContain('run `weft serve`');
    expect(stderr).toContain('pass --token / set WEFT_TOKEN');
  });

  it('with a wrong token: exit 1 without echoing it', async () => {
    const wrong = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    const { code, stderr } = await runWeft(['get', 'services', '--server', serve.url, '--token', wrong]);
    expect(code).toBe(1);
    expect(lines(stderr)).toHaveLength(1);
    expect(stderr).toMatch(/^error: the operator token was refused: /);
    expect(stderr).toContain('--token / WEFT_TOKEN');
    expect(stderr).not.toContain(wrong);
  });

  it('takes the token from --token, and never prints it', async () => {
    const { code, stdout, stderr } = await runWeft([
      'get',
      'env',
      '--server',
      serve.url,
      '--token',
      serve.token,
    ]);
    expect(code).toBe(0);
    expect(lines(stdout)).toHaveLength(4);
    expect(stdout + stderr).not.toContain(serve.token);
  });
});
