/**
 * A stand-in for an API Gateway HTTP API (payload format 2.0) on loopback:
 * every request becomes the event API Gateway would send, goes to a Lambda
 * handler, and its structured result goes back as the response. It lets a
 * real `weft agent`, curl or `fetch` talk to the AWS handlers as they run in
 * Lambda. Nothing runs here for API Gateway itself (it is not in moto's
 * server mode), so this is the narrowest seam: the event shape.
 *
 * @module
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';

/** A Lambda handler as middy builds it. */
export type HttpApiHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

/** A Lambda context that is enough for middy. */
export function lambdaContext(functionName: string): Context {
  return {
    functionName,
    awsRequestId: 'req-1',
    getRemainingTimeInMillis: () => 30_000,
  } as unknown as Context;
}

/** Routes of the stand-in: the first whose prefix matches a request's path takes it. */
export interface HttpApiRoute {
  readonly prefix: string;
  readonly handler: HttpApiHandler;
}

export interface HttpApiGateway {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `routes` on 127.0.0.1 (a free port). */
export async function startHttpApiGateway(routes: readonly HttpApiRoute[]): Promise<HttpApiGateway> {
  const server = createServer(async (req, res) => {
    try {
      const event = await toEvent(req);
      const route = routes.find((r) => event.rawPath.startsWith(r.prefix));
      if (!route) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not Found"}');
        return;
      }
      const result = (await route.handler(event, lambdaContext('weft'))) ?? {};
      const body = result.body ?? '';
      const headers = Object.fromEntries(
        Object.entries(result.headers ?? {}).map(([k, v]) => [k, String(v)]),
      );
      res.writeHead(result.statusCode ?? 200, headers);
      res.end(result.isBase64Encoded ? Buffer.from(body, 'base64') : body);
    } catch (error) {
      // What API Gateway answers when the integration fails.
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"message":"Internal Server Error"}');
      console.error(error);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function toEvent(req: IncomingMessage): Promise<APIGatewayProxyEventV2> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  const [rawPath = '/', rawQueryString = ''] = (req.url ?? '/').split(/\?(.*)/s);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const text = /^(application\/(json|problem\+json|jose|yaml)|text\/)/.test(
    headers['content-type'] ?? 'application/json',
  );
  const query = new URLSearchParams(rawQueryString);
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString,
    headers,
    ...(rawQueryString && { queryStringParameters: Object.fromEntries(query) }),
    requestContext: {
      accountId: '123456789012',
      apiId: 'weft',
      domainName: '127.0.0.1',
      domainPrefix: 'weft',
      http: {
        method: req.method ?? 'GET',
        path: rawPath,
        protocol: 'HTTP/1.1',
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: 'r1',
      routeKey: '$default',
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    ...(raw.length > 0 && { body: text ? raw.toString('utf8') : raw.toString('base64') }),
    isBase64Encoded: raw.length > 0 && !text,
  };
}
