import { describe, expect, it } from 'vitest';
import type { CloudEvent } from '../../../shared/events/cloud-event.js';
import { LocalEventBus } from '../../../shared/events/local-event-bus.js';
import { ChangePublisher } from '../../../shared/events/publisher.js';
import { RESOURCE_CHANGED } from '../../../shared/events/resource-changed.js';
import { formatHlc } from '../../../shared/model/hlc.js';
import { parseResource } from '../../../shared/model/resource.js';
import type { BlobStore } from '../../../shared/storage/blob-store.js';
import { MemoryBlobStore } from '../../../shared/storage/memory-blob-store.js';
import { MemoryStateStore } from '../../../shared/storage/memory-state-store.js';
import type { StoredRecord } from '../../../shared/storage/state-store.js';
import { OUTBOX_WATERMARK, readWatermark } from '../../../shared/storage/watermark.js';

const T0 = 1_700_000_000_000;
const at = (ms: number, counter = 0) => formatHlc({ wall: T0 + ms, counter, node: 'local' });

function env(name: string, version: string): StoredRecord {
  const resource = parseResource({
    apiVersion: 'weft.dev/v1',
    kind: 'Environment',
    metadata: { name },
    spec: { provider: 'local', region: 'home' },
  });
  return {
    key: { kind: 'Environment', namespace: '', name },
    version,
    origin: 'local',
    updatedAt: '',
    resource,
  };
}

function setup(blobs: BlobStore = new MemoryBlobStore()) {
  const store = new MemoryStateStore();
  const bus = new LocalEventBus();
  const delivered: CloudEvent[] = [];
  bus.subscribe(RESOURCE_CHANGED, async (events) => {
    delivered.push(...events);
  });
  const publisher = new ChangePublisher({ store, bus, blobs, source: '/weft/local' });
  const ids = async () => {
    await bus.idle();
    return delivered.map((e) => e.subject);
  };
  return { store, bus, blobs, publisher, delivered, ids };
}

describe('ChangePublisher', () => {
  it('publishes a stored write and moves the outbox watermark to its version', async () => {
    const { store, publisher, blobs, ids } = setup();
    const a = env('a', at(1));
    await store.put(a);
    await publisher.publish([a]);
    expect(await ids()).toStrictEqual(['Environment/a']);
    expect(await readWatermark(blobs, OUTBOX_WATERMARK)).toStrictEqual({ version: a.version });
  });

  it('never moves the watermark backwards', async () => {
    const { store, publisher, blobs } = setup();
    const [a, b] = [env('a', at(1)), env('b', at(2))];
    await store.put(a);
    await store.put(b);
    await publisher.publish([b]);
    await publisher.publish([a]);
    expect((await readWatermark(blobs, OUTBOX_WATERMARK))?.version).toBe(b.version);
  });

  it('sweep: a crash between store and publish loses nothing', async () => {
    const blobs = new MemoryBlobStore();
    const first = setup(blobs);
    const a = env('a', at(1));
    await first.store.put(a);
    await first.publisher.publish([a]);
    // Stored, then the process died before publishing.
    const b = env('b', at(2));
    await first.store.put(b);

    // A new instance on the same stores.
    const next = setup(blobs);
    for (const r of await first.store.changedSince(undefined)) await next.store.put(r);
    expect(await next.publisher.sweep()).toBeGreaterThanOrEqual(1);
    expect(await next.ids()).toContain('Environment/b');
    expect((await readWatermark(blobs, OUTBOX_WATERMARK))?.version).toBe(b.version);
  });

  it('sweep: finds a write that landed after a newer one moved the watermark past it', async () => {
    const { store, publisher, ids } = setup();
    const [older, newer] = [env('older', at(1)), env('newer', at(2))];
    // `older` took its version first but was stored last, and its writer died before publishing.
    await store.put(newer);
    await publisher.publish([newer]);
    await store.put(older);
    expect(await publisher.sweep()).toBe(1);
    expect(await ids()).toStrictEqual(['Environment/newer', 'Environment/older']);
  });

  it('sweep: republishes nothing it already published, and past the overlap only what is new', async () => {
    const { store, publisher, ids } = setup();
    const old = env('old', at(0));
    await store.put(old);
    await publisher.publish([old]);
    const late = env('late', at(120_000));
    await store.put(late);
    await publisher.publish([late]);
    expect(await publisher.sweep()).toBe(0);
    expect(await publisher.sweep()).toBe(0);
    expect(await ids()).toStrictEqual(['Environment/old', 'Environment/late']);
  });

  it('sweep with no watermark yet publishes the whole store, in batches', async () => {
    const blobs = new MemoryBlobStore();
    const store = new MemoryStateStore();
    const bus = new LocalEventBus();
    const batches: number[] = [];
    bus.subscribe(RESOURCE_CHANGED, async (events) => {
      batches.push(events.length);
    });
    const publisher = new ChangePublisher({ store, bus, blobs, source: '/weft/local', batchSize: 2 });
    for (let i = 0; i < 5; i++) await store.put(env(`e${i}`, at(i)));
    expect(await publisher.sweep()).toBe(5);
    await bus.idle();
    expect(batches.reduce((a, b) => a + b)).toBe(5);
    expect((await readWatermark(blobs, OUTBOX_WATERMARK))?.version).toBe(at(4));
  });

  it('does not move the watermark when the bus refuses the events', async () => {
    const { store, blobs, bus } = setup();
    const failing = new ChangePublisher({
      store,
      blobs,
      source: '/weft/local',
      bus: { publish: async () => Promise.reject(new Error('bus down')), subscribe: bus.subscribe.bind(bus) },
    });
    const a = env('a', at(1));
    await store.put(a);
    await expect(failing.publish([a])).rejects.toThrow('bus down');
    expect(await readWatermark(blobs, OUTBOX_WATERMARK)).toBeUndefined();
  });
});
