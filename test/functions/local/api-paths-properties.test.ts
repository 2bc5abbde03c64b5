/**
 * A property of the API as a client meets it: over real HTTP, on the local
 * host and its embedded DynamoDB (whose key limits a long name would hit),
 * random paths (known segments, dot-segments, escapes, long names) with
 * random methods and bodies never get a 5xx, and the store changes only when
 * the answer was a successful write to exactly the resource the path names.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startLocalHost } from '../../../functions/local/host.js';
import { KIND_INFO, KINDS } from '../../../shared/model/kinds.js';
import type { StoredRecord } from '../../../shared/storage/state-store.js';
import { httpCaller } from '../../support/api.js';
import { environmentDoc, pathOf, validDocument } from '../../support/arbitraries.js';

const SILENT = { info() {}, error() {} };

let dataDir: string;
let host: Awaited<ReturnType<typeof startLocalHost>>;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'weft-paths-'));
  host = await startLocalHost({ dataDir, logger: SILENT });
  const call = httpCaller(host.url);
  const headers = { authorization: `Bearer ${host.adminToken}`, 'content-type': 'application/json' };
  for (const doc of [environmentDoc('home'), environmentDoc('aws-1')]) {
    await call('PUT', pathOf(doc), { body: JSON.stringify(doc), headers });
  }
});
afterAll(async () => {
  await host?.close();
  await rm(dataDir, { recursive: true, force: true });
});

const WORDS = [
  ...KINDS.map((k) => KIND_INFO[k].plural),
  ...['v1', 'apply', 'shop', 'home', 'aws-1', 'web', 'default', 'snapshot', 'status', 'changes'],
  ...['convergence', 'bundle', 'attest', 'svid', 'x509', 'jwt', 'mint', 'join-tokens', 'healthz'],
  'openapi.json',
];
const TRICKS = ['.', '..', '', '%2e%2e', '%2E', '%2f', '%2F', '%5c', '\\', '%00', '%0a', '%1f', '%7f'];
const segment = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...WORDS) },
  { weight: 2, arbitrary: fc.constantFrom(...TRICKS, '%41', '%25', '%252e', 'Shop', 'a_b', '-x') },
  // Printable ASCII without '/', sent raw (node:http refuses anything else unescaped).
  {
    weight: 2,
    arbitrary: fc.string({
      unit: fc
        .integer({ min: 0x21, max: 0x7e })
        .map((c) => String.fromCharCode(c))
        .filter((c) => c !== '/'),
      maxLength: 12,
    }),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }).map(encodeURIComponent) },
  { weight: 1, arbitrary: fc.integer({ min: 60, max: 1300 }).map((n) => 'a'.repeat(n)) },
);
const plural = fc.constantFrom(...KINDS.map((k) => KIND_INFO[k].plural));
const query = fc.constantFrom(
  '',
  '?dryRun=true',
  '?labelSelector=a%3Db',
  `?labelSelector=${'x'.repeat(5000)}`,
);
const path = fc
  .tuple(
    fc.oneof(
      // Shaped like a resource path, its names anything.
      fc
        .tuple(plural, fc.array(segment, { minLength: 1, maxLength: 3 }))
        .map(([kind, parts]) => `/v1/${kind}/${parts.join('/')}`),
      // A walk from one kind into a resource that exists.
      fc
        .tuple(
          plural,
          fc.constantFrom('..', '%2e%2e', '.%2e', '%2E.'),
          fc.constantFrom('environments/home', 'environments/aws-1'),
        )
        .map(([kind, up, target]) => `/v1/${kind}/${up}/${target}`),
      fc
        .tuple(fc.boolean(), fc.array(segment, { maxLength: 6 }))
        .map(([v1, parts]) => `/${[...(v1 ? ['v1'] : []), ...parts].join('/')}`),
    ),
    query,
  )
  .map(([p, q]) => `${p}${q}`);
const body = fc.oneof(
  fc.constant(undefined),
  fc.oneof(...KINDS.map(validDocument)).map((d) => JSON.stringify(d)),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 100 }),
);
const method = fc.constantFrom('GET', 'HEAD', 'PUT', 'DELETE', 'POST', 'PATCH', 'OPTIONS');

const snapshot = async () =>
  new Map((await host.store.changedSince(undefined)).map((r) => [keyText(r), r.version]));
const keyText = ({ key }: StoredRecord) => `${key.kind}/${key.namespace}/${key.name}`;

/** The API path of a stored record, as `pathOf` writes it. */
function recordPath(text: string): string {
  const [kind, namespace, name] = text.split('/') as [keyof typeof KIND_INFO, string, string];
  const { plural, namespaced } = KIND_INFO[kind];
  return namespaced ? `/v1/${plural}/${namespace}/${name}` : `/v1/${plural}/${name}`;
}

it('random paths, methods and bodies never get a 5xx, and change the store only by a valid write', async () => {
  const call = httpCaller(host.url);
  await fc.assert(
    fc.asyncProperty(method, path, body, async (m, p, b) => {
      const before = await snapshot();
      const res = await call(m, p, {
        headers: { authorization: `Bearer ${host.adminToken}`, 'content-type': 'application/json' },
        ...(b !== undefined && m !== 'GET' && m !== 'HEAD' && { body: b }),
      });
      const what = `${m} ${p.slice(0, 200)} -> ${res.status} ${res.body.slice(0, 300)}`;
      expect(res.status, what).toBeLessThan(500);
      if (res.status >= 400) expect(res.headers['content-type'], what).toBe('application/problem+json');
      const after = await snapshot();
      const changed = [...new Set([...before.keys(), ...after.keys()])].filter(
        (k) => before.get(k) !== after.get(k),
      );
      if (changed.length === 0) return;
      // Only a successful write changes the store: a PUT or DELETE of exactly the resource its
      // path names, or an apply of the document it was sent.
      expect(res.status, what).toBeLessThan(300);
      expect(['PUT', 'DELETE', 'POST'], what).toContain(m);
      if (m !== 'POST') expect(changed.map(recordPath), what).toEqual([p.split('?')[0]]);
    }),
    { numRuns: 300 },
  );
});
