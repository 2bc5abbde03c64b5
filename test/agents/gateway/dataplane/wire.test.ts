import { describe, expect, it } from 'vitest';
import { parseAddress } from '../../../../agents/gateway/dataplane/listen.js';
import { normalizePath, splitTarget } from '../../../../agents/gateway/dataplane/path.js';
import { hostName } from '../../../../agents/gateway/dataplane/snapshot-index.js';
import { otlpTracesUrl } from '../../../../agents/gateway/dataplane/telemetry.js';
import {
  continueTrace,
  formatTraceparent,
  parseTraceparent,
} from '../../../../agents/gateway/dataplane/trace-context.js';

describe('traceparent', () => {
  const incoming = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

  it('continues a valid trace with a new span whose parent is the caller', () => {
    const ctx = continueTrace(incoming);
    expect(ctx).toMatchObject({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      parentSpanId: '00f067aa0ba902b7',
      flags: '01',
    });
    expect(ctx.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(formatTraceparent(ctx)).toBe(`00-${ctx.traceId}-${ctx.spanId}-01`);
  });

  it('starts a new sampled trace for a missing or invalid header', () => {
    for (const bad of [
      undefined,
      'garbage',
      `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`,
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      `${incoming}-extra`,
      incoming.toUpperCase(),
    ]) {
      expect(parseTraceparent(bad)).toBeUndefined();
      const ctx = continueTrace(bad);
      expect(ctx.parentSpanId).toBeUndefined();
      expect(ctx.flags).toBe('01');
    }
    // A future version may carry more fields: its first four still count.
    expect(parseTraceparent(`01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-more`)?.flags).toBe(
      '00',
    );
  });
});

describe('paths and hosts', () => {
  it('normalizes dot segments, repeated slashes and encoded unreserved characters', () => {
    expect(normalizePath('/a/./b/../c')).toBe('/a/c');
    expect(normalizePath('/public/../admin/users')).toBe('/admin/users');
    expect(normalizePath('/%2e%2E/admin')).toBe('/admin');
    expect(normalizePath('//admin//x/')).toBe('/admin/x/');
    expect(normalizePath('/a%2Fb/%7euser')).toBe('/a%2Fb/~user');
    expect(normalizePath('/..')).toBe('/');
    expect(normalizePath('/a/..')).toBe('/');
    expect(splitTarget('/x?y=1')).toEqual({ path: '/x', query: '?y=1' });
  });

  it('reads hosts without port, case or trailing dot, and parses listen addresses', () => {
    expect(hostName('Orders.Shop.weft.internal.:8080')).toBe('orders.shop.weft.internal');
    expect(hostName(undefined)).toBe('');
    expect(parseAddress('[::1]:15001')).toEqual({ host: '::1', port: 15001 });
    expect(parseAddress('127.0.1.1:0')).toEqual({ host: '127.0.1.1', port: 0 });
    expect(() => parseAddress('nope')).toThrow(TypeError);
  });

  it('finds the OTLP traces URL in the standard variables', () => {
    expect(otlpTracesUrl({})).toBeUndefined();
    expect(otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' })).toBe('http://c:4318/v1/traces');
    expect(
      otlpTracesUrl({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t/x',
      }),
    ).toBe('http://t/x');
  });
});
