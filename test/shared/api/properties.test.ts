/**
 * Properties of the core API, in process on the in-memory store: every valid
 * document of every kind round-trips, and no invalid or malformed body ever
 * gets a 5xx or changes the store.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createApi } from '../../../shared/api/create-api.js';
import type { Authenticator } from '../../../shared/api/operator-auth.js';
import { type ApiResponse, MAX_BODY_BYTES } from '../../../shared/api/types.js';
import { HybridLogicalClock } from '../../../shared/model/hlc.js';
import { KIND_INFO, KINDS } from '../../../shared/model/kinds.js';
import { MemoryStateStore } from '../../../shared/storage/memory-state-store.js';
import { createTestOperators } from '../../support/api.js';
import {
  type Doc,
  environmentDoc,
  invalidDocument,
  pathOf,
  referencedEnvironments,
  validDocument,
} from '../../support/arbitraries.js';

const RUNS = { numRuns: 100 };
const anyValidDocument = fc.oneof(...KINDS.map(validDocument));

let authenticate: Authenticator;
let authorization: string;
beforeAll(async () => {
  const operators = await createTestOperators();
  authenticate = operators.authenticate;
  authorization = `Bearer ${operators.adminToken}`;
});

function apiOn(store: MemoryStateStore) {
  const api = createApi({ store, hlc: new HybridLogicalClock('local'), authenticate });
  return (method: string, path: string, body?: string, contentType = 'application/json') => {
    const [pathname, query] = path.split('?');
    return api({
      method,
      path: pathname!,
      query: Object.fromEntries(new URLSearchParams(query)),
      headers: { authorization, ...(contentType && { 'content-type': contentType }) },
      body,
    });
  };
}

/** The document as stored and served, without the `status` the system adds. */
const withoutStatus = (res: ApiResponse) => {
  const { status: _status, ...doc } = JSON.parse(res.body);
  return doc;
};

describe('valid documents round-trip', () => {
  it.each(KINDS)(
    '%s: PUT then GET returns the document unchanged, and a second PUT is a no-op',
    async (kind) => {
      await fc.assert(
        fc.asyncProperty(validDocument(kind), async (doc) => {
          const call = apiOn(new MemoryStateStore());
          for (const name of new Set(referencedEnvironments(doc))) {
            expect(
              (await call('PUT', `/v1/environments/${name}`, JSON.stringify(environmentDoc(name)))).status,
            ).toBe(201);
          }
          const put = await call('PUT', pathOf(doc), JSON.stringify(doc));
          expect(put.status, put.body).toBe(201);
          const got = await call('GET', pathOf(doc));
          expect(got.status).toBe(200);
          expect(withoutStatus(got)).toStrictEqual(doc);
          const again = await call('PUT', pathOf(doc), JSON.stringify(doc));
          expect(again.status).toBe(200);
          expect(again.headers.etag).toBe(put.headers.etag);
        }),
        RUNS,
      );
    },
  );

  it('POST /v1/apply of the same documents as multi-document YAML reads back the same', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(anyValidDocument, { minLength: 1, maxLength: 4 }), async (docs) => {
        const unique = [...new Map(docs.map((d) => [pathOf(d), d])).values()];
        const envs = new Set(unique.flatMap(referencedEnvironments));
        const batch = [
          ...[...envs].map(environmentDoc),
          ...unique.filter((d) => !(d.kind === 'Environment' && envs.has(d.metadata.name))),
        ];
        const call = apiOn(new MemoryStateStore());
        const res = await call(
          'POST',
          '/v1/apply',
          batch.map((d) => stringify(d)).join('---\n'),
          'application/yaml',
        );
        expect(res.status, res.body).toBe(200);
        for (const doc of batch) expect(withoutStatus(await call('GET', pathOf(doc)))).toStrictEqual(doc);
      }),
      RUNS,
    );
  });
});

describe('invalid and malformed bodies', () => {
  // One store for every run: nothing may ever change it.
  const store = new MemoryStateStore();
  let call: ReturnType<typeof apiOn>;
  let before: unknown;
  beforeAll(async () => {
    call = apiOn(store);
    await call('PUT', '/v1/environments/home', JSON.stringify(environmentDoc('home')));
    await call('PUT', '/v1/services/shop/web', JSON.stringify(serviceDoc('web')));
    before = await store.changedSince(undefined);
  });

  const kindPath = fc
    .constantFrom(...KINDS)
    .map((k) =>
      KIND_INFO[k].namespaced ? `/v1/${KIND_INFO[k].plural}/shop/web` : `/v1/${KIND_INFO[k].plural}/home`,
    );
  const endpoint = fc.oneof(
    kindPath.map((path) => ({ method: 'PUT', path })),
    fc.constantFrom({ method: 'POST', path: '/v1/apply' }, { method: 'POST', path: '/v1/apply?dryRun=true' }),
  );
  const contentType = fc.constantFrom(
    'application/json',
    'application/yaml',
    'application/merge-patch+json',
    '',
  );

  /** 4xx problem+json, never 5xx, and the store as it was. An apply of zero documents is a 200 no-op. */
  async function expectRefused(res: ApiResponse, method: string): Promise<void> {
    const emptyApply = method === 'POST' && res.status === 200 && JSON.parse(res.body).results.length === 0;
    if (!emptyApply) {
      expect(res.status, res.body).toBeGreaterThanOrEqual(400);
      expect(res.status, res.body).toBeLessThan(500);
      expect(res.headers['content-type']).toBe('application/problem+json');
      expect(JSON.parse(res.body)).toMatchObject({
        status: res.status,
        code: expect.stringMatching(/^ERR_/),
      });
    }
    expect(await store.changedSince(undefined)).toStrictEqual(before);
  }

  it('random JSON values', async () => {
    await fc.assert(
      fc.asyncProperty(endpoint, fc.jsonValue(), contentType, async ({ method, path }, value, type) => {
        await expectRefused(await call(method, path, JSON.stringify(value), type), method);
      }),
      RUNS,
    );
  });

  it('valid documents mutated into invalid ones, alone or among valid ones', async () => {
    const batch = fc.tuple(
      fc.array(anyValidDocument, { maxLength: 3 }),
      invalidDocument(anyValidDocument),
      fc.nat(),
    );
    await fc.assert(
      fc.asyncProperty(batch, fc.boolean(), async ([valid, bad, at], asPut) => {
        if (asPut) {
          const target = valid[0] ? pathOf(valid[0]) : '/v1/services/shop/web';
          await expectRefused(await call('PUT', target, JSON.stringify(bad)), 'PUT');
          return;
        }
        const docs: unknown[] = [...valid];
        docs.splice(at % (docs.length + 1), 0, bad);
        const body = docs.map((d) => stringify(d)).join('---\n');
        await expectRefused(await call('POST', '/v1/apply', body, 'application/yaml'), 'POST');
      }),
      RUNS,
    );
  });

  it('random bytes and strings', async () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('utf8')),
    );
    await fc.assert(
      fc.asyncProperty(endpoint, text, contentType, async ({ method, path }, body, type) => {
        await expectRefused(await call(method, path, body, type), method);
      }),
      RUNS,
    );
  });

  it('bad YAML', async () => {
    const broken = fc.oneof(
      fc.constantFrom(
        'kind: [Service',
        'a: 1\na: 2',
        'metadata:\n\tname: web',
        'spec: *nowhere',
        '{ "a": 1',
        'key: "unterminated',
        '--- !!binary zzz',
        '? [a, b]\n: c',
      ),
      fc
        // No `#` in the junk: after the tab it would start a comment and leave a valid document.
        .tuple(
          anyValidDocument,
          fc.string({ maxLength: 20 }).filter((junk) => !junk.includes('#')),
        )
        .map(([doc, junk]) => `${stringify(doc)}\t${junk}: [`),
    );
    await fc.assert(
      fc.asyncProperty(endpoint, broken, async ({ method, path }, body) => {
        await expectRefused(await call(method, path, body, 'application/yaml'), method);
      }),
      RUNS,
    );
  });

  // Found by this property: a few thousand levels overflowed the YAML composer's stack, and a second
  // such request aborted the whole process (a fatal OOM in V8's RegExp compiler). body.ts now caps depth.
  it('deep nesting, closed or not, in YAML and JSON', async () => {
    const deep = fc
      .tuple(
        fc.integer({ min: 65, max: 5000 }),
        fc.constantFrom('[', '{a: ', '- ', '? ', '{"a":'),
        fc.boolean(),
      )
      .map(([n, open, closed]) => {
        const close = ({ '[': ']', '{a: ': '}', '{"a":': '}' } as Record<string, string>)[open] ?? '';
        return open.repeat(n) + (closed ? `1${close.repeat(n)}` : '');
      });
    await fc.assert(
      fc.asyncProperty(endpoint, deep, contentType, async ({ method, path }, body, type) => {
        await expectRefused(await call(method, path, body, type), method);
      }),
      RUNS,
    );
  });

  it('huge strings: bodies over 1 MiB, names and labels over their limits', async () => {
    const huge = 'x'.repeat(MAX_BODY_BYTES);
    const oversized = fc.oneof(
      fc.string({ maxLength: 10 }).map((s) => s + huge),
      anyValidDocument.map((d) =>
        JSON.stringify({ ...d, metadata: { ...d.metadata, annotations: { a: huge } } }),
      ),
      fc.integer({ min: 64, max: 5000 }).map((n) => JSON.stringify(serviceDoc('a'.repeat(n)))),
      fc
        .integer({ min: 64, max: 5000 })
        .map((n) =>
          JSON.stringify({ ...serviceDoc('web'), metadata: { name: 'web', labels: { k: 'v'.repeat(n) } } }),
        ),
    );
    await fc.assert(
      fc.asyncProperty(endpoint, oversized, async ({ method, path }, body) => {
        await expectRefused(await call(method, path, body), method);
      }),
      { numRuns: 30 },
    );
  });
});

function serviceDoc(name: string): Doc {
  return {
    apiVersion: 'weft.dev/v1',
    kind: 'Service',
    metadata: { name, namespace: 'shop' },
    spec: { ports: [{ port: 8080 }] },
  };
}
