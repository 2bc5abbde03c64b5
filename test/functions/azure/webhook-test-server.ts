/**
 * Calls Azure Functions v4 HTTP handlers as the Functions host does: with
 * `new HttpRequest({...})` of @azure/functions and an `InvocationContext`,
 * directly ({@link deliver}) or behind a real HTTP server on loopback
 * ({@link serveAzure}, so that test/support/fake-event-grid.ts and peer
 * clouds reach them over HTTP); and mints the Entra ID tokens Event Grid
 * delivers with from a local key set (test/support/token-issuer.ts): `iss`
 * `https://sts.windows.net/<tenant>/`, `aud` the push audience, `tid`, and
 * `appid` Event Grid's first-party application.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import azureFunctions, { type HttpResponseInit, type InvocationContext } from '@azure/functions';
import type { JSONWebKeySet } from 'jose';
import { azurePushAuthenticator } from '../../../functions/azure/event-grid-delivery.js';
import { EVENT_GRID_APP_ID, type PushAuthenticator } from '../../../functions/control-plane/push-auth.js';
import { createTokenIssuer, type TokenIssuer } from '../../support/token-issuer.js';

const { HttpRequest, HttpResponse, InvocationContext: Context } = azureFunctions;

export const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
export const PUSH_AUDIENCE = 'api://weft-push';
export const HOST = 'https://weft-main.azurewebsites.net';

/** What Entra ID's token for an Event Grid delivery carries (v1 access token). */
export const deliveryClaims = () => ({
  iss: `https://sts.windows.net/${TENANT}/`,
  aud: PUSH_AUDIENCE,
  tid: TENANT,
  appid: EVENT_GRID_APP_ID,
  appidacr: '2',
  oid: '1f0e2d3c-4b5a-6978-8695-a4b3c2d1e0f9',
  sub: '1f0e2d3c-4b5a-6978-8695-a4b3c2d1e0f9',
  ver: '1.0',
});

/** An Entra ID stand-in and the deployment's check of the deliveries it signs. */
export interface EntraIssuer {
  readonly issuer: TokenIssuer;
  readonly env: Readonly<Record<string, string>>;
  readonly authenticate: PushAuthenticator;
  /** `Authorization` for a valid delivery token, with `claims` changed. */
  bearer(claims?: Record<string, unknown>): Promise<string>;
}

export async function createEntraIssuer(): Promise<EntraIssuer> {
  const issuer = await createTokenIssuer();
  const env = { WEFT_PUSH_TENANT_ID: TENANT, WEFT_PUSH_AUDIENCE: PUSH_AUDIENCE };
  return {
    issuer,
    env,
    authenticate: azurePushAuthenticator(env, { jwks: issuer.jwks() as JSONWebKeySet }),
    bearer: async (claims = {}) => `Bearer ${await issuer.sign({ ...deliveryClaims(), ...claims })}`,
  };
}

/** An HTTP handler of the v4 model. */
export type Handler = (
  request: InstanceType<typeof HttpRequest>,
  context: InvocationContext,
) => Promise<HttpResponseInit>;

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly text: string;
  /** The body as JSON, when it is. */
  readonly body: unknown;
}

/** An invocation's context, its log lines kept (not printed). */
export const context = (functionName: string, lines: string[] = []) =>
  new Context({
    functionName,
    invocationId: crypto.randomUUID(),
    logHandler: (_level, ...args) => lines.push(args.map(String).join(' ')),
  });

/** Calls `handler` with one request, as the host would, and reads the answer. */
export async function deliver(
  handler: Handler,
  request: {
    readonly method?: string;
    readonly path?: string;
    readonly headers?: Record<string, string>;
    readonly body?: unknown;
    readonly params?: Record<string, string>;
  } = {},
): Promise<Answer> {
  const body = request.body;
  const http = new HttpRequest({
    method: request.method ?? 'POST',
    url: `${HOST}${request.path ?? '/api/events/compile'}`,
    headers: {
      ...(body !== undefined && { 'content-type': 'application/cloudevents+json; charset=utf-8' }),
      ...request.headers,
    },
    ...(request.params && { params: request.params }),
    ...(body !== undefined && { body: { string: typeof body === 'string' ? body : JSON.stringify(body) } }),
  });
  return read(await handler(http, context('weftTest')));
}

async function read(init: HttpResponseInit): Promise<Answer> {
  const response = new HttpResponse(init);
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: Object.fromEntries(response.headers), text, body };
}

/**
 * Serves `routes` (`/api/<route>` → handler; a route ending in `/*` takes
 * everything below it, handed over as the `path` parameter) on loopback.
 */
export async function serveAzure(
  routes: Readonly<Record<string, Handler>>,
): Promise<{ readonly url: string; readonly server: Server; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    void answer(req).then((out) => {
      res.writeHead(out.status, out.headers).end(out.text);
    });
  });
  async function answer(req: IncomingMessage): Promise<Answer> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const path = (req.url ?? '/').split('?')[0]!;
    for (const [route, handler] of Object.entries(routes)) {
      const prefix = `/api/${route.replace(/\*$/, '')}`;
      const matches = route.endsWith('*') ? path.startsWith(prefix) : path === prefix;
      if (!matches) continue;
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers))
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
      const http = new HttpRequest({
        method: req.method ?? 'GET',
        url: `http://${req.headers.host}${req.url}`,
        headers,
        ...(route.endsWith('*') && { params: { path: path.slice(prefix.length) } }),
        ...(chunks.length > 0 && { body: { bytes: Buffer.concat(chunks) } }),
      });
      return read(await handler(http, context(route)));
    }
    return { status: 404, headers: {}, text: 'no function at this route', body: undefined };
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
