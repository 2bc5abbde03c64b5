/**
 * Replication between three clouds as a property: random histories of
 * concurrent writes and deletes at aws, gcp and azure, their relay events
 * (really signed, really verified) duplicated, reordered, delayed and dropped
 * by the network, clouds stopped and started, anti-entropy at random points.
 * Once every cloud is up and anti-entropy has run, every cloud holds the
 * same state; each key holds the greatest accepted write (no accepted write
 * lost but to a later one of the same key), and a key whose greatest write
 * was a delete holds a tombstone (none resurrected).
 *
 * The network is in process (the clouds' Replication objects called
 * directly, results JSON round-tripped); the HTTP routes over it are tested
 * on their own.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { JwsSigningKey } from '../../../shared/contract/signed-jws.js';
import type { CloudEvent } from '../../../shared/events/cloud-event.js';
import { MemoryKeyRing } from '../../../shared/identity/memory-key-ring.js';
import { UnavailableError } from '../../../shared/model/errors.js';
import { compareHlc, HybridLogicalClock } from '../../../shared/model/hlc.js';
import { formatKey, type ResourceKey } from '../../../shared/model/kinds.js';
import type { Federation, RelayPublicKey } from '../../../shared/replication/federation.js';
import { Replication } from '../../../shared/replication/replication.js';
import type { PeerTransport } from '../../../shared/replication/transport.js';
import { ResourceService } from '../../../shared/resources/resource-service.js';
import { MemoryBlobStore } from '../../../shared/storage/memory-blob-store.js';
import { MemoryStateStore } from '../../../shared/storage/memory-state-store.js';

const CLOUDS = ['aws', 'gcp', 'azure'] as const;
type Cloud = (typeof CLOUDS)[number];
const NAMES = ['e1', 'e2', 'e3', 'e4'];

let keys: Record<Cloud, { signing: JwsSigningKey; public: RelayPublicKey }>;
beforeAll(async () => {
  const ring = new MemoryKeyRing();
  const entries = await Promise.all(
    CLOUDS.map(async (cloud) => {
      const signer = await ring.open(`relay-${cloud}`);
      const { x, y } = await signer.publicKeyJwk();
      const kid = `relay-${cloud}-1`;
      return [cloud, { signing: { kid, signer }, public: { kid, kty: 'EC', crv: 'P-256', x, y } }] as const;
    }),
  );
  keys = Object.fromEntries(entries) as typeof keys;
});

const environment = (name: string, rev: number) => ({
  apiVersion: 'weft.dev/v1',
  kind: 'Environment',
  metadata: { name, labels: { rev: String(rev) } },
  spec: { provider: 'local', region: 'home' },
});

type Step =
  | { op: 'write'; cloud: number; name: number; rev: number }
  | { op: 'delete'; cloud: number; name: number }
  | { op: 'deliver'; pick: number; duplicate: boolean }
  | { op: 'drop'; pick: number }
  | { op: 'stop' | 'start'; cloud: number }
  | { op: 'sweep'; cloud: number }
  | { op: 'tick'; ms: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant('write' as const),
      cloud: fc.nat(2),
      name: fc.nat(3),
      rev: fc.nat(1000),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant('delete' as const), cloud: fc.nat(2), name: fc.nat(3) }),
  },
  {
    weight: 6,
    arbitrary: fc.record({ op: fc.constant('deliver' as const), pick: fc.nat(), duplicate: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('drop' as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constantFrom('stop' as const, 'start' as const), cloud: fc.nat(2) }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('sweep' as const), cloud: fc.nat(2) }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 5000 }) }),
  },
);

/** Three clouds and the network between them. */
function world() {
  let now = 1_800_000_000_000;
  const clock = () => now;
  const up = new Set<Cloud>(CLOUDS);
  /** Relay events in flight: to whom, and the event. */
  const wire: { to: Cloud; event: CloudEvent<string> }[] = [];
  const clouds = {} as Record<
    Cloud,
    { store: MemoryStateStore; service: ResourceService; replication: Replication }
  >;
  const roundTrip = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
  const reach = (cloud: Cloud) => {
    if (!up.has(cloud)) throw new UnavailableError(`${cloud} is down`);
    return clouds[cloud];
  };
  for (const cloud of CLOUDS) {
    const federation: Federation = {
      self: cloud,
      signingKey: keys[cloud].signing,
      peers: CLOUDS.filter((c) => c !== cloud).map((c) => ({
        cloud: c,
        url: `http://${c}`,
        keys: [keys[c].public],
      })),
    };
    const transport: PeerTransport = {
      // The network takes the events; whether and when they arrive is the history's to say.
      async deliver(peer, events) {
        for (const event of events) wire.push({ to: peer.cloud as Cloud, event: roundTrip(event) });
        return events.map((e) => ({ id: e.id, result: 'applied' as const }));
      },
      async digest(peer) {
        return roundTrip(await reach(peer.cloud as Cloud).replication.antiEntropy.digest());
      },
      async buckets(peer, ids) {
        return roundTrip(await reach(peer.cloud as Cloud).replication.antiEntropy.buckets(ids));
      },
      async authority() {
        return undefined;
      },
      async appliedVersions() {
        return {};
      },
    };
    const store = new MemoryStateStore();
    const hlc = new HybridLogicalClock(cloud, clock);
    clouds[cloud] = {
      store,
      service: new ResourceService({ store, hlc, now: clock }),
      replication: new Replication({
        federation,
        store,
        blobs: new MemoryBlobStore(),
        hlc,
        transport,
        now: clock,
      }),
    };
  }
  return { clouds, up, wire, tick: (ms: number) => (now += ms) };
}

/** Every record a cloud holds, by key, as `version` or `version (deleted)`. */
async function stateOf(store: MemoryStateStore): Promise<Record<string, string>> {
  const records = await store.changedSince(undefined);
  return Object.fromEntries(
    records.map((r) => [formatKey(r.key), `${r.version}${r.resource === null ? ' (deleted)' : ''}`]),
  );
}

describe('replication between three clouds (properties)', () => {
  it('ends with every cloud identical, the greatest write of each key kept, no tombstone resurrected', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 40 }), async (steps) => {
        const w = world();
        /** Every write a cloud accepted: the greatest per key is what must survive. */
        const accepted = new Map<string, { version: string; deleted: boolean }>();
        const accept = (key: ResourceKey, version: string, deleted: boolean) => {
          const k = formatKey(key);
          const best = accepted.get(k);
          if (!best || compareHlc(version, best.version) > 0) accepted.set(k, { version, deleted });
        };
        const deliver = async (index: number, keep: boolean) => {
          const [message] = keep ? [w.wire[index]!] : w.wire.splice(index, 1);
          if (!message || !w.up.has(message.to)) return;
          await w.clouds[message.to].replication.ingestBatch([message.event]);
        };
        for (const s of steps) {
          const cloud = CLOUDS[(s as { cloud?: number }).cloud ?? 0]!;
          const { service, replication } = w.clouds[cloud];
          switch (s.op) {
            case 'write': {
              if (!w.up.has(cloud)) break;
              const name = NAMES[s.name]!;
              const result = await service.put(environment(name, s.rev), {
                kind: 'Environment',
                namespace: '',
                name,
              });
              if (result.action === 'unchanged') break;
              accept(result.record.key, result.record.version, false);
              await replication.relayer.relay([result.record]);
              break;
            }
            case 'delete': {
              if (!w.up.has(cloud)) break;
              const key = { kind: 'Environment' as const, namespace: '', name: NAMES[s.name]! };
              const current = await w.clouds[cloud].store.get(key);
              if (!current?.resource) break;
              const result = await service.delete(key);
              accept(key, result.record.version, true);
              await replication.relayer.relay([result.record]);
              break;
            }
            case 'deliver':
              if (w.wire.length > 0) await deliver(s.pick % w.wire.length, s.duplicate);
              break;
            case 'drop':
              if (w.wire.length > 0) w.wire.splice(s.pick % w.wire.length, 1);
              break;
            case 'stop':
              w.up.delete(cloud);
              break;
            case 'start':
              w.up.add(cloud);
              break;
            case 'sweep':
              if (w.up.has(cloud)) await replication.antiEntropy.sweep();
              break;
            case 'tick':
              w.tick(s.ms);
              break;
          }
        }
        // Heal: every cloud up, what is still on the wire arrives (or not), then anti-entropy everywhere.
        for (const cloud of CLOUDS) w.up.add(cloud);
        while (w.wire.length > 0) await deliver(w.wire.length - 1, false);
        for (let round = 0; round < 2; round++) {
          for (const cloud of CLOUDS) await w.clouds[cloud].replication.antiEntropy.sweep();
        }
        const states = await Promise.all(CLOUDS.map((c) => stateOf(w.clouds[c].store)));
        expect(states[1]).toEqual(states[0]);
        expect(states[2]).toEqual(states[0]);
        const expected = Object.fromEntries(
          [...accepted].map(([k, { version, deleted }]) => [k, `${version}${deleted ? ' (deleted)' : ''}`]),
        );
        expect(states[0]).toEqual(expected);
      }),
      { numRuns: 1000 },
    );
  }, 240_000);
});
