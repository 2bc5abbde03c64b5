import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileSnapshots } from '../../../shared/compiler/compile.js';
import { meshStateFrom } from '../../../shared/compiler/mesh-state.js';
import { peekSnapshot } from '../../../shared/contract/signed-snapshot.js';
import { Distributor } from '../../../shared/distribution/distribute.js';
import { caAuthority, type MeshAuthority } from '../../../shared/distribution/mesh-authority.js';
import type { CloudEvent } from '../../../shared/events/cloud-event.js';
import { resourceChangedEvent } from '../../../shared/events/resource-changed.js';
import { NotFoundError } from '../../../shared/model/errors.js';
import type { WriteResult } from '../../../shared/resources/resource-service.js';
import { MemoryBlobStore } from '../../../shared/storage/memory-blob-store.js';
import { MemoryStateStore } from '../../../shared/storage/memory-state-store.js';
import { doc, memoryCa, meshDocs, ordersPolicy, TD, writer } from '../../support/distribution.js';

/** Writes that touch one gateway, some, all, or none; some delete and re-create. */
const writeArb: fc.Arbitrary<Write> = fc.oneof<fc.Arbitrary<Write>[]>(
  fc
    .subarray(['GET', 'PUT', 'POST'])
    .map((methods) => ({ docs: [ordersPolicy(methods.length ? methods : ['GET'])] })),
  fc.constant({ delete: ['AccessPolicy', 'orders-read', 'shop'] as const }),
  fc.integer({ min: 0, max: 3 }).map((weight) => ({
    docs: [
      doc('Workload', 'shop/users-aws', {
        service: 'users',
        environment: 'aws',
        address: '10.1.0.1:9000',
        weight,
      }),
    ],
  })),
  fc.constant({ delete: ['Gateway', 'aws-2', ''] as const }),
  fc.constantFrom('127.0.1.2:15443', '127.0.1.9:15443').map((address) => ({
    docs: [doc('Gateway', 'aws-2', { environment: 'aws', address })],
  })),
  fc
    .integer({ min: 9000, max: 9002 })
    .map((port) => ({ docs: [doc('Service', 'shop/users', { ports: [{ port }] })] })),
);

type Write = { docs?: unknown[]; delete?: readonly [string, string, string] };
type Step = { op: 'write'; write: Write } | { op: 'deliver'; instance: 0 | 1; picks: number[] };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  writeArb.map((write) => ({ op: 'write' as const, write })),
  fc.record({
    op: fc.constant('deliver' as const),
    instance: fc.constantFrom(0 as const, 1 as const),
    picks: fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
  }),
);

async function apply(w: ReturnType<typeof writer>, write: Write): Promise<WriteResult[]> {
  if (write.docs) return w.apply(write.docs);
  const [kind, name, namespace] = write.delete!;
  try {
    return [await w.delete(kind as 'Gateway', name, namespace)];
  } catch (error) {
    if (error instanceof NotFoundError) return [];
    throw error;
  }
}

let authority: MeshAuthority;
beforeAll(async () => {
  const { ca } = await memoryCa();
  authority = caAuthority(async () => ca, 'local');
});

describe('Distributor (properties)', () => {
  it('duplicated and reordered events, over two instances, never move a stored snapshot backwards, and converge', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(stepArb, { maxLength: 14 }),
        fc.infiniteStream(fc.nat()),
        fc.constantFrom(0, 1),
        async (steps, order, last) => {
          const store = new MemoryStateStore();
          const blobs = new MemoryBlobStore();
          const w = writer(store);
          const instances = [0, 1].map(() => new Distributor({ store, blobs, authority }));
          const published: CloudEvent[] = [];
          const publish = (results: WriteResult[]) =>
            published.push(...results.map((r) => resourceChangedEvent(r.record, '/weft/local')));
          publish(await w.apply(meshDocs()));
          const highest = new Map<string, string>();
          const check = async () => {
            for (const key of await blobs.list('snapshots/')) {
              const { version } = peekSnapshot((await blobs.get(key))!.body)!;
              expect(version >= (highest.get(key) ?? '')).toBe(true);
              highest.set(key, version);
            }
          };
          for (const step of steps) {
            if (step.op === 'write') {
              publish(await apply(w, step.write));
              continue;
            }
            const batch = step.picks.map((p) => published[p % published.length]!);
            await instances[step.instance]!.handle(batch);
            await check();
          }
          // Everything, late, duplicated and shuffled, to one of them: the other's writes may be newer than it remembers.
          const all = [...published, ...published].map(
            (e, i) => [order.next().value as number, i, e] as const,
          );
          const shuffled = all.sort((a, b) => a[0] - b[0] || a[1] - b[1]).map(([, , e]) => e);
          await instances[last]!.handle(shuffled);
          await check();

          // Converged: what is stored is what a full compile of the final state says.
          const { bundle } = await authority.forTrustDomain(TD);
          const expected = compileSnapshots(meshStateFrom(await store.changedSince(undefined), bundle));
          const stored = await blobs.list('snapshots/');
          expect(stored).toStrictEqual([...expected.snapshots.keys()].map((k) => `snapshots/${k}.jws`));
          for (const [key, snapshot] of expected.snapshots) {
            expect(peekSnapshot((await blobs.get(`snapshots/${key}.jws`))!.body)?.hash).toBe(snapshot.hash);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
