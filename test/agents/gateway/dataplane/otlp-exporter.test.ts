import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExportSpan, OtlpExporter } from '../../../../agents/gateway/dataplane/otlp-exporter.js';

const span = (i: number): ExportSpan => ({
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  spanId: i.toString(16).padStart(16, '0'),
  name: 'egress GET',
  kind: 3,
  startTimeUnixNano: 1_700_000_000_000_000_000n,
  endTimeUnixNano: 1_700_000_000_001_000_000n,
  attributes: { 'http.response.status_code': 200, 'url.path': '/x' },
  error: false,
});

describe('OtlpExporter', () => {
  const posts: { spans: unknown[] }[] = [];
  let url = '';
  const collector = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += chunk;
    const doc = JSON.parse(body);
    posts.push({ spans: doc.resourceSpans[0].scopeSpans[0].spans });
    res.writeHead(200).end('{}');
  });
  beforeAll(async () => {
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(collector.address() as AddressInfo).port}/v1/traces`;
  });
  afterAll(() => {
    collector.closeAllConnections();
    collector.close();
  });

  it('posts batches of at most maxBatch spans in the OTLP JSON shape', async () => {
    const exporter = new OtlpExporter({
      url,
      resource: { 'service.name': 'weft-gateway' },
      maxBatch: 2,
      intervalMs: 60_000,
    });
    for (let i = 1; i <= 5; i++) exporter.add(span(i));
    await exporter.close();
    expect(posts.map((p) => p.spans.length)).toEqual([2, 2, 1]);
    expect(posts[0]!.spans[0]).toMatchObject({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '0000000000000001',
      kind: 3,
      startTimeUnixNano: '1700000000000000000',
      attributes: expect.arrayContaining([{ key: 'http.response.status_code', value: { intValue: '200' } }]),
      status: { code: 0 },
    });
    expect(exporter.dropped).toBe(0);
  });

  it('drops (and counts) spans past the queue bound instead of growing', async () => {
    const exporter = new OtlpExporter({ url, resource: {}, maxQueue: 3, maxBatch: 100, intervalMs: 60_000 });
    for (let i = 1; i <= 5; i++) exporter.add(span(i));
    expect(exporter.dropped).toBe(2);
    await exporter.close();
  });

  it('drops a batch the collector cannot take, tells onError, and never throws', async () => {
    const errors: unknown[] = [];
    const exporter = new OtlpExporter({
      url: 'http://127.0.0.1:1/v1/traces',
      resource: {},
      intervalMs: 60_000,
      onError: (e) => errors.push(e),
    });
    exporter.add(span(1));
    exporter.add(span(2));
    await expect(exporter.close()).resolves.toBeUndefined();
    expect(exporter.dropped).toBe(2);
    expect(errors).toHaveLength(1);
  });
});
