/**
 * The replication endpoints (docs/replication.md):
 *
 * - `POST /v1/replication/events`: relay events from peers, one or a JSON
 *   array of at most 100. The proof is each event's own signature (and, in a
 *   cloud, the bus's delivery auth in front); an array answers 200 with a
 *   result per event, a single event its result or its refusal as a problem.
 * - `GET /v1/replication/digest` and `GET /v1/replication/records?buckets=Service/3,Route/17`:
 *   what anti-entropy reads, for peers only (a bearer signed by a peer's relay key).
 * - `GET /v1/replication/authority`: this cloud's authority statement (federated identity), for peers.
 * - `GET /v1/replication/applied?gateways=aws/aws-edge,…`: the applied versions this
 *   cloud's status reports hold, for a peer's convergence report.
 * - `GET /v1/replication/status` and `/metrics`: what replication did, for
 *   operators, as JSON and as Prometheus text.
 *
 * @module
 */
import {
  NotFoundError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../model/errors.js';
import { BUCKETS, type BucketId, isBucketId } from '../replication/digest.js';
import { authenticatePeer } from '../replication/peer-auth.js';
import { MAX_RELAY_BATCH, type Replication } from '../replication/replication.js';
import { MAX_BUCKETS_PER_READ } from '../replication/transport.js';
import { bodyFormat, parseMany } from './body.js';
import type { Authenticator } from './operator-auth.js';
import type { Router } from './router.js';
import { type ApiRequest, json } from './types.js';

const PATHS = [
  '/v1/replication/events',
  '/v1/replication/digest',
  '/v1/replication/records',
  '/v1/replication/status',
  '/v1/replication/authority',
  '/v1/replication/applied',
  '/v1/replication/metrics',
] as const;

/** Adds the replication endpoints; with no `replication` each answers 404, saying so. */
export function addReplicationRoutes(
  router: Router,
  replication: Replication | undefined,
  ctx: { readonly authenticate: Authenticator; readonly now?: () => number },
): void {
  if (!replication) {
    const disabled = (req: ApiRequest): never => {
      throw new NotFoundError(
        `${req.path}: this control plane replicates with no peer (it has no federation)`,
      );
    };
    for (const path of PATHS) router.add(path, { '*': disabled }, { strict: true });
    return;
  }
  const { federation } = replication;
  const asPeer = {
    before: (req: ApiRequest) => authenticatePeer(req.headers.authorization, federation, ctx.now?.()),
  };
  router
    .add(
      PATHS[0],
      {
        POST: async (req) => {
          if (bodyFormat(req.headers['content-type']) !== 'json')
            throw new UnsupportedMediaTypeError('relay events are JSON: send application/json');
          const batch = req.body?.trimStart().startsWith('[') ?? false;
          const events = parseMany(req.body, 'json');
          if (events.length > MAX_RELAY_BATCH)
            throw new PayloadTooLargeError(
              `at most ${MAX_RELAY_BATCH} relay events a request; send ${events.length} in several`,
            );
          if (batch) return json(200, { results: await replication.ingestBatch(events) });
          return json(200, { result: await replication.ingest.ingest(events[0]) });
        },
      },
      { strict: true },
    )
    .add(
      PATHS[1],
      {
        GET: async () =>
          json(200, { cloud: federation.self, digest: await replication.antiEntropy.digest() }),
      },
      { ...asPeer, strict: true },
    )
    .add(
      PATHS[2],
      {
        GET: async (req) => {
          const ids = (req.query.buckets ?? '').split(',');
          const bad = ids.find((id) => !isBucketId(id));
          if (bad !== undefined || ids.length > MAX_BUCKETS_PER_READ)
            throw new ValidationError(
              `buckets=${(req.query.buckets ?? '').slice(0, 80)} is not a list of buckets`,
              [
                {
                  pointer: '/buckets',
                  detail: `at most ${MAX_BUCKETS_PER_READ} of KIND/N, N from 0 to ${BUCKETS - 1}, comma-separated`,
                },
              ],
            );
          return json(200, { records: await replication.antiEntropy.buckets(ids as BucketId[]) });
        },
      },
      { ...asPeer, strict: true },
    )
    .add(
      PATHS[4],
      {
        GET: async () =>
          json(200, { cloud: federation.self, statement: await replication.authorities?.own() }),
      },
      { ...asPeer, strict: true },
    )
    .add(
      PATHS[5],
      {
        GET: async (req) => {
          const gateways = (req.query.gateways ?? '').split(',').filter(Boolean);
          if (gateways.length > 1000 || gateways.some((g) => !/^[a-z0-9-]{1,63}\/[a-z0-9-]{1,63}$/.test(g)))
            throw new ValidationError('gateways is a comma-separated list of at most 1000 ENV/NAME', [
              { pointer: '/gateways', detail: 'ENV/NAME, DNS-1123 labels' },
            ]);
          return json(200, { cloud: federation.self, applied: await replication.appliedVersions(gateways) });
        },
      },
      { ...asPeer, strict: true },
    )
    .add(
      PATHS[6],
      {
        GET: async (req) => {
          await ctx.authenticate(req.headers.authorization);
          return {
            status: 200,
            headers: {
              'content-type': 'text/plain; version=0.0.4; charset=utf-8',
              'cache-control': 'no-store',
            },
            body: replication.stats.toPrometheus(federation.self),
          };
        },
      },
      { strict: true },
    )
    .add(
      PATHS[3],
      {
        GET: async (req) => {
          await ctx.authenticate(req.headers.authorization);
          return json(200, {
            cloud: federation.self,
            peers: federation.peers.map((p) => ({ cloud: p.cloud, url: p.url })),
            ...replication.stats.toJSON(),
          });
        },
      },
      { strict: true },
    );
}
