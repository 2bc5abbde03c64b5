/**
 * How a control plane reaches its peers: relay deliveries and the two
 * anti-entropy reads. The HTTP transport is what every cloud uses; tests put
 * an in-process one in its place to run many clouds fast.
 *
 * @module
 */
import type { CloudEvent } from '../events/cloud-event.js';
import { UnavailableError } from '../model/errors.js';
import type { BucketId, Digest } from './digest.js';

/** Most buckets one records read asks for (a sweep asks in chunks). */
export const MAX_BUCKETS_PER_READ = 64;

import type { Federation, RelayPeer } from './federation.js';
import { peerAuthorization } from './peer-auth.js';

/** A peer's answer to one relay event of a batch. */
export interface DeliveryResult {
  readonly id: string;
  readonly result: 'applied' | 'stale' | 'refused';
  readonly reason?: string;
}

export interface PeerTransport {
  /**
   * Delivers relay events to `peer`.
   *
   * @throws UnavailableError when the peer did not answer (unreachable, timeout, 5xx): worth another try.
   */
  deliver(peer: RelayPeer, events: readonly CloudEvent<string>[]): Promise<DeliveryResult[]>;
  /** @throws UnavailableError as {@link deliver}. */
  digest(peer: RelayPeer): Promise<Digest>;
  /**
   * The records (tombstones included) of some buckets (at most
   * {@link MAX_BUCKETS_PER_READ}), unchecked. @throws UnavailableError as {@link deliver}.
   */
  buckets(peer: RelayPeer, ids: readonly BucketId[]): Promise<unknown[]>;
  /**
   * The applied versions the peer holds for `gateways` (their status
   * reports there), by gateway key. @throws UnavailableError as {@link deliver}.
   */
  appliedVersions(peer: RelayPeer, gateways: readonly string[]): Promise<Record<string, string>>;
  /** The peer's authority statement (compact JWS, unchecked), if it has one yet. @throws UnavailableError as {@link deliver}. */
  authority(peer: RelayPeer): Promise<string | undefined>;
}

/** Over HTTP with `fetch`; every request times out after `timeoutMs`. */
export function httpPeerTransport(
  federation: Federation,
  options: { readonly fetch?: typeof fetch; readonly timeoutMs?: number } = {},
): PeerTransport {
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;
  async function call<T>(peer: RelayPeer, path: string, init: RequestInit): Promise<T> {
    let res: Response;
    try {
      res = await fetchImpl(`${peer.url.replace(/\/+$/, '')}${path}`, {
        ...init,
        headers: {
          accept: 'application/json',
          authorization: await peerAuthorization(federation, peer),
          ...(init.body !== undefined && { 'content-type': 'application/json' }),
        },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (cause) {
      throw new UnavailableError(`${peer.cloud} at ${peer.url} did not answer: ${(cause as Error).message}`, {
        cause,
      });
    }
    const text = await res.text();
    if (res.status >= 500) throw new UnavailableError(`${peer.cloud} answered ${res.status}`);
    if (!res.ok) throw new Error(`${peer.cloud} refused ${path}: ${res.status} ${text.slice(0, 300)}`);
    return JSON.parse(text) as T;
  }
  return {
    async deliver(peer, events) {
      const body = await call<{ results: DeliveryResult[] }>(peer, '/v1/replication/events', {
        method: 'POST',
        body: JSON.stringify(events),
      });
      return body.results;
    },
    async digest(peer) {
      return (await call<{ digest: Digest }>(peer, '/v1/replication/digest', { method: 'GET' })).digest;
    },
    async appliedVersions(peer, gateways) {
      const query = `?gateways=${gateways.map(encodeURIComponent).join(',')}`;
      return (
        await call<{ applied: Record<string, string> }>(peer, `/v1/replication/applied${query}`, {
          method: 'GET',
        })
      ).applied;
    },
    async authority(peer) {
      return (await call<{ statement?: string }>(peer, '/v1/replication/authority', { method: 'GET' }))
        .statement;
    },
    async buckets(peer, ids) {
      const query = `?buckets=${ids.map(encodeURIComponent).join(',')}`;
      return (await call<{ records: unknown[] }>(peer, `/v1/replication/records${query}`, { method: 'GET' }))
        .records;
    },
  };
}
