/**
 * The API contract: what an operator or agent may rely on from every edge
 * (Lambda, Cloud Run function, Azure Function, the local host). Each target
 * translates its native request and response; the same assertions run on all
 * of them, so a translation bug (a lost header, a re-encoded body) fails here.
 *
 * @module
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { KIND_INFO, KINDS } from '../../shared/model/kinds.js';
import { type ApiTarget, foreignAdminToken, type TargetResponse } from '../support/api.js';

const API_VERSION = 'weft.dev/v1';
const JSON_TYPE = { 'content-type': 'application/json' };
const YAML_TYPE = { 'content-type': 'application/yaml' };

const environment = (name: string, labels?: Record<string, string>, region = 'us-east-1') => ({
  apiVersion: API_VERSION,
  kind: 'Environment',
  metadata: { name, ...(labels && { labels }) },
  spec: { provider: 'aws', region },
});
const service = (namespace: string, name: string, labels?: Record<string, string>, port = 8080) => ({
  apiVersion: API_VERSION,
  kind: 'Service',
  metadata: { name, namespace, ...(labels && { labels }) },
  spec: { ports: [{ name: 'http', port }] },
});
const route = (namespace: string, name: string, backendEnvironment: string) => ({
  apiVersion: API_VERSION,
  kind: 'Route',
  metadata: { name, namespace },
  spec: { service: 'web', rules: [{ backends: [{ environment: backendEnvironment, weight: 100 }] }] },
});
const yamlDocs = (...docs: object[]) => docs.map((d) => stringify(d)).join('---\n');

/** Asserts an RFC 9457 answer and returns the problem. */
function expectProblem(res: TargetResponse, status: number): Record<string, unknown> {
  expect(res.status, res.body).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const problem = JSON.parse(res.body) as Record<string, unknown>;
  expect(problem).toMatchObject({
    type: expect.stringMatching(/^https:\/\//),
    title: expect.any(String),
    status,
    detail: expect.any(String),
    code: expect.stringMatching(/^ERR_[A-Z_]+$/),
  });
  return problem;
}

const names = (res: TargetResponse) =>
  (JSON.parse(res.body) as { items: { metadata: { namespace?: string; name: string } }[] }).items.map((i) =>
    i.metadata.namespace ? `${i.metadata.namespace}/${i.metadata.name}` : i.metadata.name,
  );

/**
 * Defines the contract suite for one target. The target lives for the whole
 * suite (tests use distinct names), as a deployed function would.
 *
 * `options.knownFailures` maps a test title to why this target cannot pass it
 * (a platform limitation); such a test runs as `it.fails`, so it starts
 * failing, and tells us to drop the entry, the day the platform is fixed.
 *
 * @example
 * describeApiContract('local host', async () => ({ call: httpCaller(url), adminToken, viewerToken, close }));
 */
export function describeApiContract(
  name: string,
  factory: () => Promise<ApiTarget>,
  options: { readonly knownFailures?: Readonly<Record<string, string>> } = {},
): void {
  const knownFailures = new Map(Object.entries(options.knownFailures ?? {}));
  const test = (title: string, fn: () => Promise<void>) => {
    if (knownFailures.delete(title)) it.fails(`${title} (known failure)`, fn);
    else it(title, fn);
  };

  describe(`API contract: ${name}`, () => {
    let target: ApiTarget;
    beforeAll(async () => {
      target = await factory();
    });
    afterAll(async () => {
      await target?.close();
    });

    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
    const admin = () => bearer(target.adminToken);
    const get = (path: string, headers: Record<string, string> = {}) =>
      target.call('GET', path, { headers: { ...admin(), ...headers } });
    const put = (path: string, doc: unknown, headers: Record<string, string> = {}) =>
      target.call('PUT', path, {
        body: JSON.stringify(doc),
        headers: { ...admin(), ...JSON_TYPE, ...headers },
      });
    const del = (path: string, headers: Record<string, string> = {}) =>
      target.call('DELETE', path, { headers: { ...admin(), ...headers } });
    const apply = (body: string, query = '') =>
      target.call('POST', `/v1/apply${query}`, { body, headers: { ...admin(), ...YAML_TYPE } });

    describe('discovery', () => {
      test('answers /healthz without a token', async () => {
        const res = await target.call('GET', '/healthz');
        expect(res.status).toBe(200);
        expect(JSON.parse(res.body)).toEqual({ status: 'ok' });
      });

      test('serves an OpenAPI 3.1 document with a schema and paths per kind', async () => {
        const res = await target.call('GET', '/v1/openapi.json');
        expect(res.status).toBe(200);
        expect(res.headers['content-type']).toMatch(/^application\/json/);
        const doc = JSON.parse(res.body);
        expect(doc.openapi).toMatch(/^3\.1\./);
        for (const kind of KINDS) {
          const { plural, namespaced } = KIND_INFO[kind];
          expect(doc.components.schemas[kind], kind).toBeTypeOf('object');
          expect(Object.keys(doc.paths)).toContain(`/v1/${plural}`);
          expect(Object.keys(doc.paths)).toContain(
            namespaced ? `/v1/${plural}/{namespace}/{name}` : `/v1/${plural}/{name}`,
          );
        }
        expect(Object.keys(doc.paths)).toContain('/v1/apply');
      });
    });

    describe('one resource', () => {
      test('PUT creates, GET reads back, If-None-Match gets 304', async () => {
        const created = await put('/v1/services/shop/crud', service('shop', 'crud'));
        expect(created.status, created.body).toBe(201);
        const body = JSON.parse(created.body);
        expect(body.spec).toEqual({ ports: [{ name: 'http', port: 8080 }] });
        expect(body.status).toEqual({
          version: expect.any(String),
          updatedAt: expect.any(String),
          origin: expect.any(String),
        });
        expect(created.headers.etag).toBe(`"${body.status.version}"`);

        const read = await get('/v1/services/shop/crud');
        expect(read.status).toBe(200);
        expect(read.headers.etag).toBe(created.headers.etag);
        expect(JSON.parse(read.body)).toEqual(body);

        const cached = await get('/v1/services/shop/crud', { 'if-none-match': created.headers.etag! });
        expect(cached.status).toBe(304);
        expect(cached.body).toBe('');
      });

      test('PUT of the same document is 200 with the version unchanged; a change gets a new one', async () => {
        const first = await put('/v1/environments/ct-same', environment('ct-same'));
        expect(first.status).toBe(201);
        const same = await put('/v1/environments/ct-same', environment('ct-same'));
        expect(same.status).toBe(200);
        expect(same.headers.etag).toBe(first.headers.etag);
        const changed = await put('/v1/environments/ct-same', environment('ct-same', {}, 'eu-west-1'));
        expect(changed.status).toBe(200);
        expect(changed.headers.etag).not.toBe(first.headers.etag);
        expect(JSON.parse(changed.body).spec.region).toBe('eu-west-1');
      });

      test('If-Match: a stale version gets 412, the current one writes', async () => {
        const v1 = (await put('/v1/environments/ct-match', environment('ct-match'))).headers.etag!;
        const v2 = (await put('/v1/environments/ct-match', environment('ct-match', {}, 'us-west-2'))).headers
          .etag!;
        const stale = await put('/v1/environments/ct-match', environment('ct-match', {}, 'eu-north-1'), {
          'if-match': v1,
        });
        expectProblem(stale, 412);
        expectProblem(await del('/v1/environments/ct-match', { 'if-match': v1 }), 412);
        const current = await put('/v1/environments/ct-match', environment('ct-match', {}, 'eu-north-1'), {
          'if-match': v2,
        });
        expect(current.status).toBe(200);
        expect(JSON.parse(current.body).spec.region).toBe('eu-north-1');
      });

      test('DELETE is 200, then GET and DELETE are 404', async () => {
        await put('/v1/services/shop/ct-gone', service('shop', 'ct-gone'));
        const deleted = await del('/v1/services/shop/ct-gone');
        expect(deleted.status).toBe(200);
        expect(JSON.parse(deleted.body)).toMatchObject({
          kind: 'Service',
          name: 'ct-gone',
          action: 'deleted',
        });
        expectProblem(await get('/v1/services/shop/ct-gone'), 404);
        expectProblem(await del('/v1/services/shop/ct-gone'), 404);
      });
    });

    describe('lists', () => {
      beforeAll(async () => {
        for (const doc of [
          service('ct-list', 'a', { ctsel: 'web', stage: 'prod' }),
          service('ct-list', 'b', { ctsel: 'db', stage: 'prod' }),
          service('ct-list', 'c', { ctsel: 'web', stage: 'dev', legacy: 'true' }),
          service('ct-list2', 'd', { ctsel: 'web' }),
        ]) {
          expect((await put(`/v1/services/${doc.metadata.namespace}/${doc.metadata.name}`, doc)).status).toBe(
            201,
          );
        }
      });
      const list = (query: string) => get(`/v1/services/ct-list?labelSelector=${encodeURIComponent(query)}`);

      test('lists one namespace, sorted by name', async () => {
        const res = await get('/v1/services/ct-list');
        expect(res.status).toBe(200);
        expect(JSON.parse(res.body)).toMatchObject({ apiVersion: API_VERSION, kind: 'ServiceList' });
        expect(names(res)).toEqual(['ct-list/a', 'ct-list/b', 'ct-list/c']);
      });

      test('filters by label selector: =, in, !key', async () => {
        expect(names(await list('ctsel=web'))).toEqual(['ct-list/a', 'ct-list/c']);
        expect(names(await list('stage in (dev, staging)'))).toEqual(['ct-list/c']);
        expect(names(await list('ctsel,!legacy'))).toEqual(['ct-list/a', 'ct-list/b']);
        expect(names(await list('ctsel=web,stage=prod'))).toEqual(['ct-list/a']);
      });

      test('lists across namespaces without one', async () => {
        const res = await get(`/v1/services?labelSelector=${encodeURIComponent('ctsel=web')}`);
        expect(names(res)).toEqual(['ct-list/a', 'ct-list/c', 'ct-list2/d']);
      });

      test('refuses a malformed selector with 422', async () => {
        expect(expectProblem(await list('ctsel in (web'), 422).field).toBe('labelSelector');
      });
    });

    describe('apply', () => {
      const docs = [
        route('ct-apply', 'web', 'ct-apply-env'),
        environment('ct-apply-env'),
        service('ct-apply', 'web'),
      ];
      const paths = ['/v1/routes/ct-apply/web', '/v1/environments/ct-apply-env', '/v1/services/ct-apply/web'];

      test('dryRun reports what would happen and writes nothing', async () => {
        const res = await apply(yamlDocs(...docs), '?dryRun=true');
        expect(res.status, res.body).toBe(200);
        const body = JSON.parse(res.body);
        expect(body.dryRun).toBe(true);
        expect(body.results.map((r: { action: string }) => r.action)).toEqual([
          'created',
          'created',
          'created',
        ]);
        for (const path of paths) expectProblem(await get(path), 404);
      });

      test('multi-document YAML: created, then unchanged, then configured, one result per document', async () => {
        const created = JSON.parse((await apply(yamlDocs(...docs))).body);
        expect(created.results).toMatchObject([
          {
            kind: 'Route',
            namespace: 'ct-apply',
            name: 'web',
            action: 'created',
            version: expect.any(String),
          },
          { kind: 'Environment', name: 'ct-apply-env', action: 'created' },
          { kind: 'Service', namespace: 'ct-apply', name: 'web', action: 'created' },
        ]);
        for (const path of paths) expect((await get(path)).status).toBe(200);

        const again = JSON.parse((await apply(yamlDocs(...docs))).body);
        expect(again.results.map((r: { action: string }) => r.action)).toEqual([
          'unchanged',
          'unchanged',
          'unchanged',
        ]);
        const changed = [docs[0]!, docs[1]!, { ...docs[2]!, spec: { ports: [{ port: 9090 }] } }];
        const configured = JSON.parse((await apply(yamlDocs(...changed))).body);
        expect(configured.results.map((r: { action: string }) => r.action)).toEqual([
          'unchanged',
          'unchanged',
          'configured',
        ]);
      });

      test('one bad document among good ones: 422 pointing into it, and nothing written', async () => {
        const bad = { ...service('ct-apply-bad', 'broken'), spec: { ports: [{ port: 'eighty' }] } };
        const res = await apply(
          yamlDocs(environment('ct-apply-bad-env'), bad, service('ct-apply-bad', 'fine')),
        );
        const problem = expectProblem(res, 422);
        expect(problem.field).toBe('/1/spec/ports/0/port');
        expect(problem.errors).toEqual([{ pointer: '/1/spec/ports/0/port', detail: expect.any(String) }]);
        expectProblem(await get('/v1/environments/ct-apply-bad-env'), 404);
        expectProblem(await get('/v1/services/ct-apply-bad/fine'), 404);
      });
    });

    describe('validation', () => {
      test('a Route backend naming a missing Environment is 422 with the field', async () => {
        const res = await put('/v1/routes/shop/ct-orphan', route('shop', 'ct-orphan', 'nowhere'));
        expect(expectProblem(res, 422).field).toBe('/spec/rules/0/backends/0/environment');
      });

      test('an unknown field is 422 pointing at it', async () => {
        const doc = { ...service('shop', 'ct-typo'), spec: { ports: [{ port: 80 }], prots: [] } };
        const problem = expectProblem(await put('/v1/services/shop/ct-typo', doc), 422);
        expect(problem.field).toBe('/spec/prots');
        expect(problem.code).toBe('ERR_VALIDATION');
      });

      test('rejects malformed JSON with 400', async () => {
        const res = await target.call('PUT', '/v1/services/shop/ct-bad-json', {
          body: '{"apiVersion": "weft.dev/v1", "kind": ',
          headers: { ...admin(), ...JSON_TYPE },
        });
        expectProblem(res, 400);
      });

      test('rejects malformed YAML with 400', async () => {
        expectProblem(await apply('kind: [Service\nmetadata: {name: x'), 400);
      });

      test('an unsupported Content-Type is 415', async () => {
        const res = await target.call('PUT', '/v1/services/shop/ct-text', {
          body: JSON.stringify(service('shop', 'ct-text')),
          headers: { ...admin(), 'content-type': 'text/plain' },
        });
        expectProblem(res, 415);
      });

      test('a body over 1 MiB is 413 and nothing is written', async () => {
        const doc = service('shop', 'ct-huge');
        const huge = { ...doc, metadata: { ...doc.metadata, annotations: { big: 'x'.repeat(1024 * 1024) } } };
        expectProblem(await put('/v1/services/shop/ct-huge', huge), 413);
        expectProblem(await get('/v1/services/shop/ct-huge'), 404);
      });
    });

    describe('routing', () => {
      test('an unknown kind is 404', async () => {
        expectProblem(await get('/v1/widgets'), 404);
        expectProblem(await get('/v1/widgets/shop/w'), 404);
      });

      test('POST on an item is 405 with Allow', async () => {
        const res = await target.call('POST', '/v1/services/shop/ct-post', {
          body: '{}',
          headers: { ...admin(), ...JSON_TYPE },
        });
        expectProblem(res, 405);
        expect(res.headers.allow?.split(/,\s*/)).toEqual(expect.arrayContaining(['GET', 'PUT', 'DELETE']));
      });
    });

    describe('request gate', () => {
      test('a dot-segment is 400, never resolved into another resource', async () => {
        expect((await put('/v1/environments/ct-gate', environment('ct-gate'))).status).toBe(201);
        for (const path of [
          '/v1/services/../environments/ct-gate',
          '/v1/services/./../environments/ct-gate',
          '/v1/services/x/../../environments/ct-gate',
          '/v1/environments/./ct-gate',
        ]) {
          const problem = expectProblem(await del(path), 400);
          expect(problem.detail, path).toMatch(/dot-segments|"\.\.?" segment/);
        }
        expect((await get('/v1/environments/ct-gate')).status).toBe(200);
      });

      test('encoded slashes, backslashes, dots and control characters are 400', async () => {
        for (const path of [
          '/v1/services/%2e%2e/environments/ct-gate',
          '/v1/services/%2E./environments/ct-gate',
          '/v1/environments%2fct-gate',
          '/v1/environments/ct-gate%2F',
          '/v1/environments/ct%5cgate',
          '/v1/services\\..\\environments\\ct-gate',
          '/v1/environments/ct-gate%00',
          '/v1/environments/ct%0agate',
          '/v1/environments/ct%7Fgate',
        ]) {
          expectProblem(await del(path), 400);
        }
        expect((await get('/v1/environments/ct-gate')).status).toBe(200);
      });

      test('a name or namespace that is not a DNS-1123 label is 422 naming the segment', async () => {
        const long = 'a'.repeat(1100);
        const cases: [string, string][] = [
          [`/v1/services/${long}/x`, '/namespace'],
          [`/v1/services/shop/${long}`, '/name'],
          [`/v1/environments/${long}`, '/name'],
          ['/v1/services/Shop/x', '/namespace'],
          ['/v1/services/shop/x_y', '/name'],
          ['/v1/services/shop/%6frders', '/name'],
        ];
        for (const [path, field] of cases) {
          for (const res of [await get(path), await del(path), await put(path, service('shop', 'x'))]) {
            const problem = expectProblem(res, 422);
            expect(problem.field, path).toBe(field);
            expect(String(problem.detail).length, 'the detail does not repeat the whole name').toBeLessThan(
              300,
            );
          }
        }
        const list = expectProblem(await get(`/v1/services/${'n'.repeat(2000)}`), 422);
        expect(list.field).toBe('/namespace');
      });

      test('a path over 2048 characters is 414', async () => {
        expectProblem(await get(`/v1/environments/${'a/'.repeat(1100)}`), 414);
      });
    });

    describe('operator auth', () => {
      test('no token is 401 with WWW-Authenticate', async () => {
        const res = await target.call('GET', '/v1/services');
        expectProblem(res, 401);
        expect(res.headers['www-authenticate']).toMatch(/^Bearer /);
      });

      test('a garbage token or one signed by another key is 401', async () => {
        expectProblem(await target.call('GET', '/v1/services', { headers: bearer('not.a.jwt') }), 401);
        expectProblem(
          await target.call('GET', '/v1/services', { headers: { authorization: 'Basic eDp5' } }),
          401,
        );
        const foreign = await foreignAdminToken();
        expectProblem(await target.call('GET', '/v1/services', { headers: bearer(foreign) }), 401);
        const write = await target.call('PUT', '/v1/environments/ct-foreign', {
          body: JSON.stringify(environment('ct-foreign')),
          headers: { ...bearer(foreign), ...JSON_TYPE },
        });
        expectProblem(write, 401);
        expectProblem(await get('/v1/environments/ct-foreign'), 404);
      });

      test('a viewer may read but not write', async () => {
        const viewer = bearer(target.viewerToken);
        await put('/v1/services/shop/ct-viewed', service('shop', 'ct-viewed'));
        expect((await target.call('GET', '/v1/services/shop/ct-viewed', { headers: viewer })).status).toBe(
          200,
        );
        expect((await target.call('GET', '/v1/services', { headers: viewer })).status).toBe(200);
        const write = await target.call('PUT', '/v1/services/shop/ct-viewer', {
          body: JSON.stringify(service('shop', 'ct-viewer')),
          headers: { ...viewer, ...JSON_TYPE },
        });
        expect(expectProblem(write, 403).code).toBe('ERR_FORBIDDEN');
        expectProblem(await target.call('DELETE', '/v1/services/shop/ct-viewed', { headers: viewer }), 403);
        const applied = await target.call('POST', '/v1/apply', {
          body: yamlDocs(service('shop', 'ct-viewer')),
          headers: { ...viewer, ...YAML_TYPE },
        });
        expectProblem(applied, 403);
        expectProblem(await get('/v1/services/shop/ct-viewer'), 404);
      });
    });

    if (knownFailures.size > 0) {
      // Runs after collection: by then every entry should have been claimed by its test.
      it('names only existing tests in knownFailures', () => {
        expect([...knownFailures.keys()]).toEqual([]);
      });
    }
  });
}
