import { execFile } from 'node:child_process';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type ExportSpan, OtlpExporter } from '../../../../agents/gateway/dataplane/otlp-exporter.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

const span = (i: number, extra: Partial<ExportSpan> = {}): ExportSpan => ({
  traceId: TRACE_ID,
  spanId: i.toString(16).padStart(16, '0'),
  parentSpanId: CALLER_SPAN,
  name: 'egress GET',
  kind: 3,
  startTimeUnixNano: 1_700_000_000_000_000_123n,
  endTimeUnixNano: 1_700_000_000_001_000_456n,
  attributes: { 'http.response.status_code': 200, 'url.path': '/x' },
  error: false,
  ...extra,
});

interface KeyValue {
  key: string;
  value: { stringValue?: string; intValue?: string | number };
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: KeyValue[];
  status: { code?: number };
}
interface Post {
  headers: IncomingHttpHeaders;
  resource: Record<string, string | number>;
  spans: OtlpSpan[];
}

/** `intValue` is an int64: a string in the protobuf JSON mapping, which readers accept as a number too. */
const attributes = (list: KeyValue[]) =>
  Object.fromEntries(list.map(({ key, value }) => [key, value.stringValue ?? Number(value.intValue)]));

describe('OtlpExporter', () => {
  const posts: Post[] = [];
  let status = 200;
  let url = '';
  const collector = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    if (req.url === '/v1/traces' && req.headers['content-type'] === 'application/json') {
      const doc = JSON.parse(body);
      for (const r of doc.resourceSpans)
        posts.push({
          headers: req.headers,
          resource: attributes(r.resource.attributes),
          spans: r.scopeSpans.flatMap((s: { spans: OtlpSpan[] }) => s.spans),
        });
    }
    res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
  });
  const spanIds = () => posts.flatMap((p) => p.spans.map((s) => s.spanId)).sort();

  beforeAll(async () => {
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(collector.address() as AddressInfo).port}/v1/traces`;
  });
  beforeEach(() => {
    posts.length = 0;
    status = 200;
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });
  afterAll(() => {
    collector.closeAllConnections();
    collector.close();
  });

  it('exports the spans with the ids, kind, times, attributes and status it was given', async () => {
    const exporter = new OtlpExporter({
      url,
      resource: { 'service.name': 'weft-gateway', 'weft.gateway': 'gw-a' },
      intervalMs: 60_000,
    });
    exporter.add(span(1));
    exporter.add(
      span(2, {
        parentSpanId: '0000000000000001',
        name: 'ingress GET',
        kind: 2,
        error: true,
        attributes: {},
      }),
    );
    exporter.add(span(3, { parentSpanId: undefined, traceId: '0af7651916cd43dd8448eb211c80319c' }));
    await exporter.close();

    expect(posts).toHaveLength(1);
    expect(posts[0]!.resource).toMatchObject({
      'service.name': 'weft-gateway',
      'weft.gateway': 'gw-a',
      'telemetry.sdk.language': 'nodejs',
    });
    const [egress, ingress, root] = posts[0]!.spans;
    expect(egress).toMatchObject({
      traceId: TRACE_ID,
      spanId: '0000000000000001',
      parentSpanId: CALLER_SPAN,
      name: 'egress GET',
      kind: 3,
      startTimeUnixNano: '1700000000000000123',
      endTimeUnixNano: '1700000000001000456',
      status: { code: 0 },
    });
    expect(attributes(egress!.attributes)).toEqual({ 'http.response.status_code': 200, 'url.path': '/x' });
    expect(ingress).toMatchObject({
      traceId: TRACE_ID,
      spanId: '0000000000000002',
      parentSpanId: '0000000000000001',
      kind: 2,
      status: { code: 2 },
    });
    expect(root).toMatchObject({ traceId: '0af7651916cd43dd8448eb211c80319c', spanId: '0000000000000003' });
    expect(root!.parentSpanId).toBeFalsy();
    expect(exporter.dropped).toBe(0);
  });

  it('posts batches of at most maxBatch spans, and sends the headers it was given', async () => {
    const exporter = new OtlpExporter({
      url,
      resource: {},
      headers: { authorization: 'Bearer collector-token' },
      maxBatch: 2,
      intervalMs: 60_000,
    });
    for (let i = 1; i <= 5; i++) exporter.add(span(i));
    await exporter.close();
    expect(posts.map((p) => p.spans.length).sort()).toEqual([1, 2, 2]);
    expect(spanIds()).toEqual([1, 2, 3, 4, 5].map((i) => span(i).spanId));
    expect(posts.every((p) => p.headers.authorization === 'Bearer collector-token')).toBe(true);
  });

  it('honours OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_EXPORTER_OTLP_HEADERS and OTEL_BSP_*', async () => {
    vi.stubEnv('OTEL_SERVICE_NAME', 'edge-gateways');
    vi.stubEnv('OTEL_RESOURCE_ATTRIBUTES', 'deployment.environment.name=prod,weft.gateway=from-env');
    vi.stubEnv('OTEL_EXPORTER_OTLP_HEADERS', 'x-tenant=acme,authorization=Basic%20ZW52');
    vi.stubEnv('OTEL_BSP_MAX_EXPORT_BATCH_SIZE', '1');
    vi.stubEnv('OTEL_BSP_MAX_QUEUE_SIZE', '2');
    const exporter = new OtlpExporter({
      url,
      resource: { 'service.name': 'weft-gateway', 'weft.environment': 'aws-us', 'weft.gateway': 'gw-a' },
      headers: { authorization: 'Bearer from-options' },
      intervalMs: 60_000,
    });
    for (let i = 1; i <= 3; i++) exporter.add(span(i));
    expect(exporter.dropped).toBe(1);
    await exporter.close();
    expect(posts.map((p) => p.spans.length)).toEqual([1, 1]);
    expect(posts[0]!.resource).toMatchObject({
      'service.name': 'edge-gateways',
      'deployment.environment.name': 'prod',
      'weft.environment': 'aws-us',
      'weft.gateway': 'from-env',
    });
    expect(posts[0]!.headers).toMatchObject({ 'x-tenant': 'acme', authorization: 'Bearer from-options' });
  });

  it('drops (and counts) spans past the queue bound instead of growing, and spans after close', async () => {
    const exporter = new OtlpExporter({ url, resource: {}, maxQueue: 3, maxBatch: 100, intervalMs: 60_000 });
    for (let i = 1; i <= 5; i++) exporter.add(span(i));
    expect(exporter.dropped).toBe(2);
    await exporter.close();
    expect(spanIds()).toHaveLength(3);
    exporter.add(span(6));
    expect(exporter.dropped).toBe(3);
  });

  it('exports on its own every intervalMs, and flush exports what is queued', async () => {
    const timed = new OtlpExporter({ url, resource: {}, intervalMs: 50 });
    timed.add(span(1));
    await vi.waitFor(() => expect(spanIds()).toEqual([span(1).spanId]), { timeout: 5000 });
    const flushed = new OtlpExporter({ url, resource: {}, intervalMs: 60_000 });
    flushed.add(span(2));
    await flushed.flush();
    expect(spanIds()).toEqual([span(1).spanId, span(2).spanId]);
    await Promise.all([timed.close(), flushed.close()]);
  });

  it('drops a batch a dead collector cannot take, tells onError, and never throws', async () => {
    const errors: unknown[] = [];
    const exporter = new OtlpExporter({
      url: 'http://127.0.0.1:1/v1/traces',
      resource: {},
      intervalMs: 60_000,
      timeoutMs: 200,
      onError: (e) => errors.push(e),
    });
    exporter.add(span(1));
    exporter.add(span(2));
    await expect(exporter.flush()).resolves.toBeUndefined();
    await expect(exporter.close()).resolves.toBeUndefined();
    expect(exporter.dropped).toBe(2);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('drops a batch the collector refuses and tells onError', async () => {
    status = 400;
    const errors: unknown[] = [];
    const exporter = new OtlpExporter({
      url,
      resource: {},
      intervalMs: 60_000,
      onError: (e) => errors.push(e),
    });
    exporter.add(span(1));
    await exporter.close();
    expect(exporter.dropped).toBe(1);
    expect(errors).toEqual([expect.objectContaining({ code: 400 })]);
  });

  it('refuses, at construction, a URL it could never post to', () => {
    for (const bad of ['collector:4318/v1/traces', '/v1/traces', 'grpc://collector:4317'])
      expect(() => new OtlpExporter({ url: bad, resource: {} })).toThrow(TypeError);
  });

  it('loads the OpenTelemetry SDK only when an exporter is built', async () => {
    // A child process: this one has the SDK loaded already.
    const script = `
      import { createRequire } from 'node:module';
      const cache = createRequire(import.meta.url).cache;
      // prom-client loads @opentelemetry/api for exemplars: count the SDK only.
      const sdk = () => Object.keys(cache).filter((k) => /@opentelemetry\\/(?!api\\/)/.test(k)).length;
      const { OtlpExporter } = await import('./agents/gateway/dataplane/otlp-exporter.ts');
      await import('./agents/gateway/dataplane/data-plane.ts');
      const before = sdk();
      const exporter = new OtlpExporter({ url: 'http://127.0.0.1:1/v1/traces', resource: {} });
      await exporter.flush();
      console.log(JSON.stringify({ before, after: sdk() }));
      await exporter.close();
    `;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { cwd: new URL('../../../../', import.meta.url).pathname },
    );
    const { before, after } = JSON.parse(stdout);
    expect(before).toBe(0);
    expect(after).toBeGreaterThan(0);
  });
});
