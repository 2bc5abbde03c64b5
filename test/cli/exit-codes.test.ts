/**
 * The exit codes scripts rely on, in process against a real control plane:
 * 0 done; 2 the command line or the input it names is wrong (nothing needs
 * the API to say so); 1 the API refused or could not be reached. And the
 * words: errors name the flag the user typed and the document they wrote
 * (file, 1-based position, kind and name), never the schema library's text.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandContext } from '../../cli/command.js';
import { runCli } from '../../cli/main.js';
import { type ControlPlane, startControlPlane } from '../../local-mesh/control-plane.js';
import { tempDir } from '../support/temp-dir.js';
import { DEMO_MESH } from './weft-process.js';

/** Nothing listens on port 1: connecting fails at once. */
const NOWHERE = 'http://127.0.0.1:1';

let api: ControlPlane;
let work: string;
let env: Record<string, string>;

async function weft(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const ctx: CommandContext = {
    env,
    cwd: work,
    stdin: new PassThrough(),
    out: (t) => (stdout += `${t}\n`),
    err: (t) => (stderr += `${t}\n`),
  };
  const code = await runCli(args, ctx);
  return { code, stdout, stderr };
}

const lines = (text: string) => text.split('\n').filter((l) => l !== '');

const service = (name: string, spec: string) =>
  `apiVersion: weft.dev/v1\nkind: Service\nmetadata:\n  name: ${name}\n  namespace: shop\nspec:\n${spec}`;

beforeAll(async () => {
  const dataDir = await tempDir('weft-cli-exit-data-');
  work = await tempDir('weft-cli-exit-work-');
  api = await startControlPlane({ dataDir, host: '127.0.0.1', port: 0, onError: () => {} });
  env = { WEFT_SERVER: api.url, WEFT_DATA: dataDir };
  // A Mesh, so join tokens can be asked for.
  expect((await weft(['apply', '-f', DEMO_MESH])).code).toBe(0);
  await writeFile(join(work, 'good.yaml'), service('cart', '  ports:\n    - port: 80\n'));
  await writeFile(
    join(work, 'broken.yaml'),
    `${service('cart', '  ports:\n    - port: 80\n')}  protocol: http: 2\n`,
  );
  await writeFile(join(work, 'broken.json'), '{\n  "kind": "Service"\n  "spec": {}\n}\n');
  await writeFile(
    join(work, 'mesh.yaml'),
    [
      service('cart', '  ports:\n    - port: 80\n'),
      service('search', '  ports:\n    - port: 81\n'),
      service('orders', '  prots:\n    - port: 8080\n'),
    ].join('---\n'),
  );
});

afterAll(() => api?.close());

describe('exit 0', () => {
  it('when the command did what it was asked', async () => {
    const applied = await weft(['apply', '-f', 'good.yaml']);
    expect([applied.code, applied.stderr]).toEqual([0, '']);
    expect(applied.stdout.trim()).toBe('service/cart (shop) created');
    expect((await weft(['get', 'svc', 'cart', '-n', 'shop'])).code).toBe(0);
  });
});

describe('exit 2: a usage error, said in one line before anything is sent', () => {
  it.each([
    ['unknown command', ['frobnicate'], /^error: unknown command "frobnicate"; see `weft --help`$/],
    ['unknown flag', ['get', 'svc', '--frob'], /^error: unknown flag --frob; see `weft get --help`$/],
    [
      'missing positional',
      ['delete', 'svc'],
      /^error: weft delete needs KIND NAME; see `weft delete --help`$/,
    ],
    ['bad positional value', ['delete', 'svc', 'Bad_Name', '-n', 'shop'], /^error: NAME "Bad_Name" is not/],
    ['bad NAME to get', ['get', 'svc', 'x'.repeat(70)], /^error: NAME "x{63}\.\.\." is not a DNS-1123 label/],
    ['missing file', ['apply', '-f', 'nope.yaml'], /^error: nope.yaml does not exist$/],
    ['missing credential file', ['svid', 'inspect', 'nope.pem'], /^error: cannot read nope.pem: /],
    [
      'bad --ttl to svid mint',
      ['svid', 'mint', '--spiffe-id', 'spiffe://weft.demo/ns/shop/svc/web', '--ttl', 'soon'],
      /^error: --ttl must be a duration such as 30s, 2m or 5m, got "soon"; see `weft svid --help`$/,
    ],
    [
      'YAML syntax error, with line and column',
      ['apply', '-f', 'broken.yaml'],
      /^error: broken.yaml is not valid YAML \(line 9, column 13\): /,
    ],
    [
      'JSON syntax error, with line and column',
      ['apply', '-f', 'broken.json'],
      /^error: broken.json is not valid JSON \(line 3, column 3\): /,
    ],
    [
      'bad flag value, named as typed',
      ['token', 'create', '--spiffe-id', 'spiffe://weft.demo/gw/aws/aws-edge', '--ttl', '5y'],
      /^error: --ttl must be a duration such as 30s, 10m or 1h, got "5y"; see `weft token --help`$/,
    ],
    [
      'bad --timeout',
      ['apply', '-f', 'good.yaml', '--timeout', 'soon'],
      /^error: --timeout soon is not a duration/,
    ],
  ])('%s', async (_, args, message) => {
    // The API is out of reach: none of these may need it.
    const { code, stdout, stderr } = await weft([...args, '--server', NOWHERE]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(lines(stderr)).toEqual([expect.stringMatching(message)]);
    expect(stderr).not.toMatch(/\/ttl|\/name/);
  });
});

describe('exit 1: the API refused or could not be reached', () => {
  it('cannot reach the API', async () => {
    const { code, stderr } = await weft(['get', 'svc', '--server', NOWHERE]);
    expect(code).toBe(1);
    expect(lines(stderr)).toEqual([
      expect.stringMatching(/^error: cannot reach the weft API at http:\/\/127\.0\.0\.1:1: /),
    ]);
  });

  it('refuses a document with a misspelt required field, naming the document once, 1-based', async () => {
    const { code, stdout, stderr } = await weft(['apply', '-f', 'mesh.yaml']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(lines(stderr)).toEqual([
      'error: mesh.yaml, document 3 (Service shop/orders): spec.ports is required (a list of ports); nothing was written; fix it and run the command again',
      '  mesh.yaml, document 3 (Service shop/orders): spec.prots is not a known field; remove it (GET /v1/openapi.json lists the fields)',
    ]);
    // No schema-library wording, no JSON pointers, no 0-based or second naming of the document.
    expect(stderr).not.toMatch(/Invalid input|expected|received|\/2\/spec|document 2|document 0/);
    expect((await weft(['get', 'svc', 'search', '-n', 'shop'])).code).toBe(1);
  });

  it('refuses a value of the right form, naming the flag that carried it', async () => {
    const { code, stderr } = await weft([
      'token',
      'create',
      '--spiffe-id',
      'spiffe://weft.demo/gw/aws/aws-edge',
      '--ttl',
      '48h',
    ]);
    expect(code).toBe(1);
    expect(lines(stderr)).toEqual([expect.stringMatching(/^error: --ttl (must|is) /)]);
    expect(stderr).not.toContain('/ttl');
  });

  it('names a repeated document by its 1-based position too', async () => {
    await writeFile(
      join(work, 'twice.yaml'),
      `${service('cart', '  ports:\n    - port: 80\n')}---\n${service('cart', '  ports:\n    - port: 80\n')}`,
    );
    const { code, stderr } = await weft(['apply', '-f', 'twice.yaml']);
    expect(code).toBe(1);
    expect(lines(stderr)[0]).toBe(
      'error: twice.yaml, document 2 (Service shop/cart): metadata.name names the same resource as twice.yaml, document 1 (Service shop/cart); give each once; nothing was written; fix it and run the command again',
    );
  });
});
