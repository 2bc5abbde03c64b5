import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Client } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMetrics, send, total } from './support/http.js';
import { openTestIdentity, type TestIdentity } from './support/identity.js';
import { ORDERS, startTwoPlanes, type TestPlane } from './support/planes.js';
import type { TestService } from './support/services.js';
import { hostOf, serviceId } from './support/snapshots.js';

const FRONTEND = serviceId('shop', 'frontend');
const REPORTS = serviceId('shop', 'reports');
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

describe('a call from a workload crosses two gateways', () => {
  let identity: TestIdentity;
  let a: TestPlane;
  let b: TestPlane;
  let orders: TestService;
  let token: string;

  beforeAll(async () => {
    identity = await openTestIdentity();
    ({ a, b, orders } = await startTwoPlanes(identity, {
      policies: [
        {
          name: 'orders-allow-frontend',
          action: 'allow',
          rules: [{ from: [FRONTEND], methods: ['GET', 'POST'] }],
        },
        { name: 'orders-deny-admin', action: 'deny', rules: [{ from: ['*'], paths: ['/admin/*'] }] },
      ],
    }));
    token = await identity.jwt(FRONTEND);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close(), orders?.close()]);
  });

  it('as a forward proxy: the service sees the trace, the caller, and no token', async () => {
    const proxy = new Client(`http://${a.egress}`);
    const answer = await send(proxy, {
      path: `http://${hostOf(ORDERS)}/orders/42?expand=lines`,
      headers: { authorization: `Bearer ${token}`, traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01` },
    });
    await proxy.close();
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ name: 'orders', url: '/orders/42?expand=lines' });
    const seen = orders.seen.at(-1)!;
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers.host).toBe(hostOf(ORDERS));
    expect(seen.headers['x-weft-source-identity']).toBe(FRONTEND);
    const [, traceId, spanId] = String(seen.headers.traceparent).split('-');
    expect(traceId).toBe(TRACE_ID);
    expect(spanId).not.toBe(CALLER_SPAN);
  });

  it('by Host header on the egress port, starting a trace when the caller has none', async () => {
    const answer = await send(a.client, {
      path: '/orders',
      headers: { host: hostOf(ORDERS), authorization: `Bearer ${token}` },
    });
    expect(answer.status).toBe(200);
    expect(String(orders.seen.at(-1)!.headers.traceparent)).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  it('with curl -x, as HTTP_PROXY clients do', async () => {
    const { stdout } = await promisify(execFile)('curl', [
      '-sS',
      '-x',
      `http://${a.egress}`,
      '-H',
      `Authorization: Bearer ${token}`,
      '-w',
      '\n%{http_code}',
      `http://${hostOf(ORDERS)}/from-curl`,
    ]);
    const [body, code] = stdout.split('\n');
    expect(code).toBe('200');
    expect(JSON.parse(body!)).toMatchObject({ name: 'orders', url: '/from-curl' });
  });

  it('denies by policy with 403 naming the rule, also through a dot-segment path', async () => {
    const before = orders.seen.length;
    for (const path of ['/admin/users', '/public/../admin/users', '/%2e%2e/admin/users']) {
      const answer = await send(a.client, {
        path,
        headers: { host: hostOf(ORDERS), authorization: `Bearer ${token}` },
      });
      expect(answer.status).toBe(403);
      expect(answer.headers['content-type']).toBe('application/problem+json');
      expect(answer.json).toMatchObject({
        status: 403,
        decidedBy: 'orders-deny-admin/0',
        code: 'ERR_FORBIDDEN',
      });
    }
    expect(orders.seen.length).toBe(before);
  });

  it('denies by default a caller (or a method) no allow rule covers', async () => {
    const reports = await identity.jwt(REPORTS);
    const asReports = await send(a.client, {
      path: '/orders',
      // A workload cannot claim an identity by header: the egress drops it and the token decides.
      headers: {
        host: hostOf(ORDERS),
        authorization: `Bearer ${reports}`,
        'x-weft-source-identity': FRONTEND,
      },
    });
    expect(asReports.status).toBe(403);
    expect(asReports.json.decidedBy).toBe('default');
    const deleting = await send(a.client, {
      method: 'DELETE',
      path: '/orders/1',
      headers: { host: hostOf(ORDERS), authorization: `Bearer ${token}` },
    });
    expect(deleting.json).toMatchObject({ status: 403, decidedBy: 'default' });
  });

  it('answers 401 problem+json without a token, or with a forged, foreign or misaddressed one', async () => {
    const foreign = await openTestIdentity();
    const tampered = `${token.slice(0, -4)}${token.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    const tokens = [
      undefined,
      'not-a-jwt',
      tampered,
      await foreign.jwt(FRONTEND),
      await identity.jwt(FRONTEND, 'spiffe://acme.test/control-plane'),
    ];
    for (const t of tokens) {
      const answer = await send(a.client, {
        path: '/orders',
        headers: { host: hostOf(ORDERS), ...(t ? { authorization: `Bearer ${t}` } : {}) },
      });
      expect(answer.status, String(t).slice(0, 20)).toBe(401);
      expect(answer.headers['content-type']).toBe('application/problem+json');
      expect(answer.headers['www-authenticate']).toMatch(/^Bearer/);
    }
  });

  it('has the ingress verify the token again: a gateway cannot call without one', async () => {
    const rogue = await identity.gateway('aws-us', 'gw-rogue');
    const direct = new Client(`https://${b.ingress}`, {
      connect: {
        key: rogue.keyPem,
        cert: rogue.certChainPem.join(''),
        ca: identity.bundle.x509Authorities.map((x) => x.pem),
        checkServerIdentity: () => undefined,
      },
    });
    const bare = await send(direct, { path: '/orders', headers: { host: hostOf(ORDERS) } });
    const forged = await send(direct, {
      path: '/orders',
      headers: {
        host: hostOf(ORDERS),
        authorization: `Bearer ${await (await openTestIdentity()).jwt(FRONTEND)}`,
      },
    });
    // Identity by a gateway's word is off unless the Mesh allows source addresses.
    const asserted = await send(direct, {
      path: '/orders',
      headers: { host: hostOf(ORDERS), 'x-weft-source-identity': FRONTEND },
    });
    await direct.close();
    expect([bare.status, forged.status, asserted.status]).toEqual([401, 401, 401]);
  });

  it('answers 404 for a host that names no mesh service', async () => {
    const answer = await send(a.client, {
      path: '/',
      headers: { host: 'nope.shop.weft.internal', authorization: `Bearer ${token}` },
    });
    expect(answer.status).toBe(404);
    expect(answer.json.code).toBe('ERR_NOT_FOUND');
    // Whatever Host a caller sends, it never becomes a label value.
    const samples = parseMetrics(await a.registry.metrics());
    expect(total(samples, 'weft_requests_total', { destination: 'unknown', response_code: '404' })).toBe(1);
    expect(samples.some((x) => Object.values(x.labels).some((v) => v.startsWith('nope.')))).toBe(false);
  });

  it('logs one JSON line per request on each hop, with the trace id and never a token', () => {
    const access = [...a.logs, ...b.logs].filter((l) => l.msg === 'access');
    const traced = access.filter((l) => l.traceId === TRACE_ID);
    expect(traced.map((l) => l.direction).sort()).toEqual(['inbound', 'outbound']);
    for (const line of traced) {
      expect(line).toMatchObject({ source: FRONTEND, destination: serviceId('shop', 'orders'), status: 200 });
      expect(line.path).toBe('/orders/42');
    }
    expect([...a.rawLogs, ...b.rawLogs].some((l) => l.includes(token.split('.')[2]!))).toBe(false);
  });
});
