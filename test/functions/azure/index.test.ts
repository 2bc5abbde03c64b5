/**
 * The Function App's entry: importing it registers all seven functions and
 * composes nothing (no settings are set here). The registrations are read
 * at the SDK's narrowest seam, `app.http` and `app.timer` of
 * @azure/functions, stood in for by recorders (outside the Functions host
 * the SDK registers nothing); test/infra/azure/template.test.ts checks the
 * same registrations from the bundle as deployed.
 */
import type { HttpFunctionOptions, TimerFunctionOptions } from '@azure/functions';
import { describe, expect, it, vi } from 'vitest';
import { deliver } from './webhook-test-server.js';

const registered = vi.hoisted(() => ({
  http: new Map<string, unknown>(),
  timer: new Map<string, unknown>(),
}));

vi.mock('@azure/functions', async (importOriginal) => {
  const actual = await importOriginal<{ default: typeof import('@azure/functions') }>();
  return {
    ...actual,
    default: {
      ...actual.default,
      app: {
        ...actual.default.app,
        http: (name: string, options: unknown) => registered.http.set(name, options),
        timer: (name: string, options: unknown) => registered.timer.set(name, options),
      },
    },
  };
});

describe('functions/azure/index.ts', () => {
  it('registers every function AZURE_FUNCTIONS lists, the webhooks on their routes with OPTIONS and POST', async () => {
    const { AZURE_FUNCTIONS } = await import('../../../functions/azure/index.js');
    expect([...AZURE_FUNCTIONS].sort()).toEqual(
      [
        'weftApi',
        'weftCompile',
        'weftIngest',
        'weftReconcile',
        'weftRegistrar',
        'weftRelay',
        'weftSweep',
      ].sort(),
    );
    expect([...registered.http.keys(), ...registered.timer.keys()].sort()).toEqual(
      [...AZURE_FUNCTIONS].sort(),
    );
    const http = (name: string) => registered.http.get(name) as HttpFunctionOptions;
    for (const [name, route] of [
      ['weftCompile', 'events/compile'],
      ['weftRelay', 'events/relay'],
      ['weftRegistrar', 'events/registrar'],
    ] as const) {
      expect(http(name)).toMatchObject({ route, authLevel: 'anonymous', methods: ['OPTIONS', 'POST'] });
    }
    expect(http('weftIngest').route).toBe('v1/replication/{*path}');
    expect((registered.timer.get('weftSweep') as TimerFunctionOptions).schedule).toBe('0 */1 * * * *');
    expect((registered.timer.get('weftReconcile') as TimerFunctionOptions).schedule).toBe('0 */15 * * * *');
  });

  it('answers a delivery to an unconfigured app with a 500 problem, naming nothing of it to the caller', async () => {
    await import('../../../functions/azure/index.js');
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const handler = (registered.http.get('weftCompile') as HttpFunctionOptions).handler as Parameters<
      typeof deliver
    >[0];
    const res = await deliver(handler, { body: { specversion: '1.0', id: '1', source: '/x', type: 'x' } });
    expect(res.status).toBe(500);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.text).not.toMatch(/WEFT_PUSH/);
    expect(logged.mock.calls.join('\n')).toMatch(/WEFT_PUSH_AUDIENCE/);
    // The handshake needs no configuration: Event Grid can validate the subscription before the settings land.
    const handshake = await deliver(handler, {
      method: 'OPTIONS',
      headers: { 'webhook-request-origin': 'eventgrid.azure.net' },
    });
    expect(handshake.status).toBe(200);
    logged.mockRestore();
  });
});
