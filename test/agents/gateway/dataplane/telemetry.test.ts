import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMetrics, type Sample, sendMany, total } from './support/http.js';
import { openTestIdentity } from './support/identity.js';
import { ORDERS, startTwoPlanes, type TestPlane } from './support/planes.js';
import type { TestService } from './support/services.js';
import { hostOf, serviceId } from './support/snapshots.js';

const FRONTEND = serviceId('shop', 'frontend');
const DESTINATION = serviceId('shop', 'orders');
const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const CALLER_SPAN = 'b7ad6b7169203331';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  kind: number;
  name: string;
  attributes: { key: string; value: { stringValue?: string; intValue?: string | number } }[];
}

describe('metrics, access logs and spans count what was sent', () => {
  let a: TestPlane;
  let b: TestPlane;
  let orders: TestService;
  const exports: { resourceSpans: { resource: unknown; scopeSpans: { spans: OtlpSpan[] }[] }[] }[] = [];
  const collector = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    if (req.url === '/v1/traces' && req.headers['content-type'] === 'application/json')
      exports.push(JSON.parse(body));
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  const samplesOf = async (plane: TestPlane): Promise<Sample[]> =>
    parseMetrics(await plane.registry.metrics());

  beforeAll(async () => {
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    const otlpTracesUrl = `http://127.0.0.1:${(collector.address() as AddressInfo).port}/v1/traces`;
    const identity = await openTestIdentity();
    ({ a, b, orders } = await startTwoPlanes(identity, {
      extra: { otlpTracesUrl },
      policies: [
        { name: 'allow-frontend', action: 'allow', rules: [{ from: ['spiffe://acme.test/ns/shop/*'] }] },
        { name: 'deny-admin', action: 'deny', rules: [{ from: ['*'], paths: ['/admin*'] }] },
      ],
    }));
    const token = await identity.jwt(FRONTEND);
    const host = hostOf(ORDERS);
    const traceparent = `00-${TRACE_ID}-${CALLER_SPAN}-01`;
    await sendMany(a.client, 10, 4, (i) => ({
      path: `/o/${i}`,
      headers: { host, authorization: `Bearer ${token}`, traceparent },
    }));
    await sendMany(a.client, 3, 3, () => ({
      path: '/admin',
      headers: { host, authorization: `Bearer ${token}` },
    }));
    await sendMany(a.client, 2, 2, () => ({ path: '/o', headers: { host } }));
    // Closing flushes the span queues: what follows reads settled numbers, not timings.
    await Promise.all([a.close(), b.close()]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close(), orders?.close()]);
    collector.closeAllConnections();
    collector.close();
  });

  it('counts requests by direction, status and environment (DESIGN §7 names and labels)', async () => {
    const [atA, atB] = await Promise.all([samplesOf(a), samplesOf(b)]);
    const out = { direction: 'outbound', destination: DESTINATION };
    expect(
      total(atA, 'weft_requests_total', {
        ...out,
        source: FRONTEND,
        environment: 'gcp-eu',
        response_code: '200',
      }),
    ).toBe(10);
    expect(total(atA, 'weft_requests_total', { ...out, response_code: '403' })).toBe(3);
    expect(
      total(atA, 'weft_requests_total', { ...out, source: 'unknown', environment: '', response_code: '401' }),
    ).toBe(2);
    expect(total(atA, 'weft_request_duration_seconds_count', { direction: 'outbound' })).toBe(15);
    const inbound = {
      direction: 'inbound',
      destination: DESTINATION,
      environment: 'gcp-eu',
      source: FRONTEND,
    };
    expect(total(atB, 'weft_requests_total', { ...inbound, response_code: '200' })).toBe(10);
    expect(total(atB, 'weft_requests_total', { ...inbound, response_code: '403' })).toBe(3);
    expect(total(atB, 'weft_request_duration_seconds_bucket', { direction: 'inbound', le: '+Inf' })).toBe(13);
    expect(total(atB, 'weft_authz_denied_total', { source: FRONTEND, decided_by: 'deny-admin/0' })).toBe(3);
    expect(total(atA, 'weft_authz_denied_total')).toBe(0);
  });

  it('logs one access line per request per hop', () => {
    const lines = (p: TestPlane) => p.logs.filter((l) => l.msg === 'access');
    expect(lines(a)).toHaveLength(15);
    expect(lines(b)).toHaveLength(13);
    expect(
      lines(b)
        .filter((l) => l.status === 403)
        .every((l) => l.decidedBy === 'deny-admin/0'),
    ).toBe(true);
    for (const line of [...lines(a), ...lines(b)]) {
      expect(line).toMatchObject({
        traceId: expect.stringMatching(/^[0-9a-f]{32}$/),
        durationMs: expect.any(Number),
      });
    }
  });

  it('exports one span per hop over OTLP/HTTP JSON, chained caller -> egress -> ingress', () => {
    const spans = exports.flatMap((e) =>
      e.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)),
    );
    expect(spans).toHaveLength(15 + 13);
    const traced = spans.filter((s) => s.traceId === TRACE_ID);
    const egress = traced.filter((s) => s.kind === 3);
    const ingress = traced.filter((s) => s.kind === 2);
    expect([egress.length, ingress.length]).toEqual([10, 10]);
    expect(egress.every((s) => s.parentSpanId === CALLER_SPAN)).toBe(true);
    const egressIds = new Set(egress.map((s) => s.spanId));
    expect(ingress.every((s) => egressIds.has(s.parentSpanId!))).toBe(true);
    const status = ingress[0]!.attributes.find((x) => x.key === 'http.response.status_code');
    // An int64: a decimal string in OTLP/JSON, which readers accept as a number too (the JS SDK sends one).
    expect(Number(status?.value.intValue)).toBe(200);
    const resources = exports.flatMap((e) => e.resourceSpans.map((r) => JSON.stringify(r.resource)));
    expect(resources.some((r) => r.includes('"gw-a"')) && resources.some((r) => r.includes('"gw-b"'))).toBe(
      true,
    );
  });
});
