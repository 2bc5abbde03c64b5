/**
 * PubSubEventBus on Google's Pub/Sub emulator (test/support/gcloud-emulators.ts).
 * The contract reads deliveries from a pull subscription on a topic of each
 * test's own, and unwraps each message with `unwrapPubSub`, as the compile
 * functions read an Eventarc push. The emulator accepts messages past
 * Pub/Sub's 10 MB and attribute values past its 1024 bytes, so those limits
 * are checked without it; a wrapper on the client's `request` (the SDK's
 * seam to its gRPC clients) counts the messages of each Publish request.
 */
import { PubSub, v1 } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PUBSUB_MAX_MESSAGE_BYTES, PubSubEventBus } from '../../../functions/gcp/pubsub-event-bus.js';
import { PUBSUB_MESSAGE_PUBLISHED, unwrapPubSub } from '../../../functions/gcp/push-delivery.js';
import type { CloudEvent } from '../../../shared/events/cloud-event.js';
import { PayloadTooLargeError, UnavailableError, ValidationError } from '../../../shared/model/errors.js';
import { CONTRACT_EVENT_TYPES, describeEventBusContract } from '../../contract/event-bus.js';
import { freePort } from '../../support/free-port.js';
import { type GcloudEmulator, startPubSubEmulator } from '../../support/gcloud-emulators.js';

let emulator: GcloudEmulator;
let pubsub: PubSub;
let subscriber: v1.SubscriberClient;
let topics = 0;

beforeAll(async () => {
  vi.stubEnv('METADATA_SERVER_DETECTION', 'none');
  emulator = await startPubSubEmulator();
  pubsub = client();
  // The same endpoint and plain-text channel the PubSub client settled on.
  const { servicePath, port, sslCreds } = pubsub.options;
  subscriber = new v1.SubscriberClient({ servicePath, port: Number(port), sslCreds });
}, 60_000);
afterAll(async () => {
  await subscriber?.close();
  await pubsub?.close();
  await emulator?.stop();
});

const client = () => new PubSub({ projectId: emulator.projectId, apiEndpoint: emulator.host });

/** A topic of its own with a pull subscription; what the subscription holds was delivered. */
async function freshTopic(): Promise<{ topic: string; delivered(count: number): Promise<CloudEvent[]> }> {
  const topic = `weft-changes-${++topics}`;
  const [created] = await pubsub.createTopic(topic);
  const [subscription] = await created.createSubscription(`${topic}-deliveries`);
  const seen: CloudEvent[] = [];
  return {
    topic,
    async delivered(count) {
      const deadline = Date.now() + 5000;
      while (new Set(seen.map((e) => e.id)).size < count && Date.now() < deadline) {
        const [{ receivedMessages }] = await subscriber.pull({
          subscription: subscription.name,
          maxMessages: 100,
          returnImmediately: true,
        });
        const received = receivedMessages ?? [];
        if (received.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
        for (const { message } of received) {
          // What Eventarc pushes to the function: the message, its data in base64.
          const event = unwrapPubSub({
            event: {
              specversion: '1.0',
              id: message!.messageId!,
              source: `//pubsub.googleapis.com/${created.name}`,
              type: PUBSUB_MESSAGE_PUBLISHED,
            },
            data: {
              message: {
                data: Buffer.from(message!.data as Uint8Array).toString('base64'),
                attributes: message!.attributes,
                messageId: message!.messageId,
              },
              subscription: subscription.name,
            },
          });
          expect(message!.attributes).toStrictEqual({
            'ce-type': event.type,
            'ce-source': event.source,
            'ce-id': event.id,
          });
          seen.push(event);
        }
        if (received.length > 0) {
          await subscriber.acknowledge({
            subscription: subscription.name,
            ackIds: received.map((m) => m.ackId!),
          });
        }
      }
      return [...seen];
    },
  };
}

describeEventBusContract(
  'PubSubEventBus on the Pub/Sub emulator (delivered to a pull subscription)',
  async () => {
    const { topic, delivered } = await freshTopic();
    return { bus: new PubSubEventBus({ pubsub, topic }), delivered, close: async () => {} };
  },
);

/** A client on the emulator whose Publish requests are counted, by the messages each holds. */
function countingClient(): { pubsub: PubSub; calls: number[] } {
  const counted = client();
  const calls: number[] = [];
  const request = counted.request.bind(counted);
  counted.request = ((config, callback) => {
    if (config.method === 'publish') calls.push((config.reqOpts as { messages: unknown[] }).messages.length);
    return request(config, callback);
  }) as PubSub['request'];
  return { pubsub: counted, calls };
}

const event = (id: string, data: unknown = { id }): CloudEvent => ({
  specversion: '1.0',
  id,
  source: '/weft/gcp',
  type: CONTRACT_EVENT_TYPES[0],
  data,
});

describe('PubSubEventBus', () => {
  it('batches by a thousand messages and by 9 MiB, and every event arrives', async () => {
    const { topic, delivered } = await freshTopic();
    const { pubsub: counted, calls } = countingClient();
    const bus = new PubSubEventBus({ pubsub: counted, topic });
    const many = Array.from({ length: 2300 }, (_, i) => event(`s${i}`));
    await bus.publish(many);
    expect(calls).toStrictEqual([1000, 1000, 300]);
    calls.length = 0;
    // 4 MB each: two fit in 9 MiB, the third does not.
    const large = Array.from({ length: 3 }, (_, i) => event(`l${i}`, `${i}`.repeat(4_000_000)));
    await bus.publish(large);
    expect(calls).toStrictEqual([2, 1]);
    const got = await delivered(many.length + large.length);
    expect(new Set(got.map((e) => e.id)).size).toBe(many.length + large.length);
    expect(got.find((e) => e.id === 'l2')?.data).toBe('2'.repeat(4_000_000));
    await counted.close();
  });

  it('refuses an event too big for Pub/Sub before publishing anything', async () => {
    const { topic } = await freshTopic();
    const { pubsub: counted, calls } = countingClient();
    const bus = new PubSubEventBus({ pubsub: counted, topic });
    const error = await bus
      .publish([event('ok'), event('big', 'x'.repeat(PUBSUB_MAX_MESSAGE_BYTES))])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect((error as Error).message).toMatch(/event 1 \(.* big\) .*at most 10000000/);
    expect(calls).toStrictEqual([]);
    await counted.close();
  });

  it('names the offending event in a ValidationError, an attribute over 1024 bytes included', async () => {
    const bus = new PubSubEventBus({ pubsub, topic: 'unused' });
    const invalid = await bus
      .publish([event('ok'), { ...event('bad'), source: 'a b' }])
      .catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(ValidationError);
    expect((invalid as ValidationError).field).toBe('/1/source');
    // 1000 characters is a valid CloudEvent id, but 2000 bytes of UTF-8.
    const wide = await bus.publish([event('ok'), event('é'.repeat(1000))]).catch((e: unknown) => e);
    expect(wide).toBeInstanceOf(ValidationError);
    expect((wide as ValidationError).field).toBe('/1/id');
    expect((wide as Error).message).toMatch(/2000 bytes of UTF-8; a Pub\/Sub attribute holds at most 1024/);
  });

  it('reports a missing topic as UnavailableError', async () => {
    const bus = new PubSubEventBus({ pubsub, topic: 'weft-no-such-topic' });
    const error = await bus.publish([event('x')]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toMatch(/topic weft-no-such-topic does not exist/);
  });

  it('reports Pub/Sub out of reach as UnavailableError once its timeout has passed', async () => {
    // Nothing listens on a free port: the SDK retries UNAVAILABLE until the timeout, then gives up.
    const away = new PubSub({ projectId: emulator.projectId, apiEndpoint: `127.0.0.1:${await freePort()}` });
    const bus = new PubSubEventBus({ pubsub: away, topic: 'weft-changes', timeoutMs: 300 });
    const error = await bus.publish([event('x')]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toMatch(/cannot reach Pub\/Sub .*UNAVAILABLE/);
    await away.close();
  });

  it('cannot subscribe in process, and says where delivery happens instead', () => {
    const bus = new PubSubEventBus({ pubsub, topic: 'weft-changes' });
    expect(() => bus.subscribe('dev.weft.resource.changed', async () => {})).toThrow(
      /Eventarc trigger on topic weft-changes delivers it to a function/,
    );
    expect(() => bus.subscribe('x', async () => {})).toThrow(TypeError);
    expect(() => new PubSubEventBus({ pubsub, topic: '' })).toThrow(TypeError);
  });
});
