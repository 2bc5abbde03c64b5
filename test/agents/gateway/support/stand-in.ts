/**
 * A stand-in control plane on 127.0.0.1 for what the real one must never
 * do: serve a tampered, foreign-signed or older snapshot, or vanish. It
 * passes the identity endpoints through to the real host (so attestation,
 * rotation and JWT-SVIDs are real), and answers the distribution endpoints
 * itself (docs/distribution.md §3), checking the agent's JWT-SVID Bearer as
 * the real API does (audience `spiffe://<td>/control-plane`, `sub` = the
 * gateway), with `If-None-Match` and `ETag`.
 *
 * @module
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { peekSnapshot } from '../../../../shared/contract/signed-snapshot.js';
import { parseBundle } from '../../../../shared/identity/bundle.js';
import { JwtSvidVerifier } from '../../../../shared/identity/jwt-svid.js';
import { ENV, GATEWAY_ID, GW, TD } from './mesh-host.js';

/** A running stand-in. */
export interface StandIn {
  readonly url: string;
  /**
   * What `GET .../snapshot` serves from now on (`undefined`: 404, none
   * compiled). `hostile` answers 200 whatever `If-None-Match` says, as a
   * man in the middle would.
   */
  serve(jws: string | undefined, options?: { hostile?: boolean }): void;
  /** Status reports received, oldest first. */
  readonly statuses: Record<string, unknown>[];
  /** Snapshot fetches answered, by status code. */
  readonly fetches: number[];
  close(): Promise<void>;
}

const SNAPSHOT = `/v1/gateways/${ENV}/${GW}/snapshot`;
const STATUS = `/v1/gateways/${ENV}/${GW}/status`;

/** Starts a stand-in in front of the real host at `upstream`; `port` to come back on the same one. */
export async function startStandIn(upstream: string, port = 0): Promise<StandIn> {
  let served: string | undefined;
  let hostile = false;
  const statuses: Record<string, unknown>[] = [];
  const fetches: number[] = [];
  const verifier = async () =>
    new JwtSvidVerifier({
      bundle: parseBundle(await (await fetch(`${upstream}/v1/bundle`)).text()),
      trustDomain: TD,
    });

  const authorized = async (req: IncomingMessage): Promise<number> => {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!bearer) return 401;
    try {
      const { spiffeId } = await (await verifier()).verify(bearer, `spiffe://${TD}/control-plane`);
      return spiffeId === GATEWAY_ID ? 200 : 403;
    } catch {
      return 401;
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const body = await text(req);
    if (req.url === SNAPSHOT || req.url === STATUS) {
      const auth = await authorized(req);
      if (auth !== 200)
        return void res.writeHead(auth, { 'content-type': 'application/problem+json' }).end('{}');
      if (req.url === STATUS) {
        statuses.push(JSON.parse(body));
        return void res.writeHead(204).end();
      }
      const hash = served && peekSnapshot(served)?.hash;
      const status = !served ? 404 : !hostile && req.headers['if-none-match'] === `"${hash}"` ? 304 : 200;
      fetches.push(status);
      if (status === 404)
        return void res
          .writeHead(404, { 'content-type': 'application/problem+json' })
          .end('{"detail":"none compiled yet"}');
      return void res
        .writeHead(status, { 'content-type': 'application/jose', etag: `"${hash}"` })
        .end(status === 200 ? served : '');
    }
    const answer = await fetch(`${upstream}${req.url}`, {
      method: req.method ?? 'GET',
      headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
      ...(body && { body }),
    });
    res.writeHead(answer.status, {
      'content-type': answer.headers.get('content-type') ?? 'application/json',
    });
    res.end(await answer.text());
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => res.writeHead(500).end(String(error)));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    serve: (jws, options = {}) => {
      served = jws;
      hostile = options.hostile ?? false;
    },
    statuses,
    fetches,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function text(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}
