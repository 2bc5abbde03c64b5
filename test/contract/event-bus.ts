/**
 * The `EventBus` contract: what the publisher and the compile step rely on,
 * run against the in-process bus and every cloud's bus. Delivery differs
 * per bus (a subscription in process, a rule and a queue in a cloud), so
 * each implementation brings a harness that reports what was delivered.
 *
 * @module
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CloudEvent } from '../../shared/events/cloud-event.js';
import type { EventBus } from '../../shared/events/event-bus.js';
import { ValidationError } from '../../shared/model/errors.js';

/** The event types the contract publishes; a harness delivers these. */
export const CONTRACT_EVENT_TYPES = ['dev.weft.contract.a', 'dev.weft.contract.b'] as const;

/** A bus and a view of what reached its consumers. */
export interface EventBusHarness {
  readonly bus: EventBus;
  /**
   * Every event delivered so far, once it counts at least `count` distinct ids
   * (or after a few seconds, with what there is: the test then says what is missing).
   */
  delivered(count: number): Promise<CloudEvent[]>;
  close(): Promise<void>;
}

/** A fresh bus and harness per test. */
export type EventBusFactory = () => Promise<EventBusHarness>;

let next = 0;
const event = (type: string = CONTRACT_EVENT_TYPES[0], data: unknown = { n: next }): CloudEvent => ({
  specversion: '1.0',
  id: `evt-${process.pid}-${++next}`,
  source: '/weft/contract',
  type,
  data,
});
const withoutData = ({ data: _, ...rest }: CloudEvent): CloudEvent => rest;
const byId = (a: CloudEvent, b: CloudEvent) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
/** At least once: a redelivery keeps the id, so compare one of each. */
const distinct = (events: CloudEvent[]) => [...new Map(events.map((e) => [e.id, e])).values()].sort(byId);

/**
 * @example
 * describeEventBusContract('LocalEventBus', async () => localHarness());
 */
export function describeEventBusContract(name: string, factory: EventBusFactory): void {
  describe(`EventBus contract: ${name}`, () => {
    let h: EventBusHarness;
    beforeEach(async () => {
      h = await factory();
    });
    afterEach(() => h.close());

    it('delivers published events with identical content', async () => {
      const events: CloudEvent[] = [
        event(CONTRACT_EVENT_TYPES[0], { name: 'gw-ü', nested: { list: [1, 2, { deep: null }] }, ok: true }),
        {
          ...event(CONTRACT_EVENT_TYPES[1], 'text data'),
          time: '2030-01-02T03:04:05.678Z',
          subject: 'Service/shop/orders',
          datacontenttype: 'application/json',
          dataschema: 'https://weft.dev/schemas/x.json',
          weftorigin: 'aws',
        } as CloudEvent,
        withoutData(event()),
      ];
      await h.bus.publish(events);
      expect(distinct(await h.delivered(3))).toStrictEqual(
        events.map((e) => JSON.parse(JSON.stringify(e))).sort(byId),
      );
    });

    it('resolves at once for nothing', async () => {
      await h.bus.publish([]);
    });

    it('delivers batches larger than one request: many events, and many large ones', async () => {
      const many = Array.from({ length: 25 }, (_, i) => event(CONTRACT_EVENT_TYPES[i % 2]));
      // Three events of 90 KB: more than one EventBridge request (256 KB) holds.
      const large = Array.from({ length: 3 }, (_, i) =>
        event(CONTRACT_EVENT_TYPES[0], { blob: `${i}`.repeat(90_000) }),
      );
      await h.bus.publish([...many, ...large]);
      const got = distinct(await h.delivered(28));
      expect(got.map((e) => e.id)).toStrictEqual([...many, ...large].map((e) => e.id).sort());
      const blob = got.find((e) => e.id === large[2]!.id)?.data as { blob: string };
      expect(blob.blob).toBe('2'.repeat(90_000));
    });

    it('refuses a batch with an invalid event with ValidationError, publishing none of it', async () => {
      const good = event();
      for (const bad of [
        { ...event(), specversion: '0.3' },
        { ...event(), source: 'has spaces' },
        { ...event(), id: '' },
        { ...event(), time: 'yesterday' },
        { ...event(), 'Not-An-Extension': 1 },
      ]) {
        await expect(h.bus.publish([good, bad as CloudEvent]), JSON.stringify(bad)).rejects.toBeInstanceOf(
          ValidationError,
        );
      }
      // Absence is seen through what comes after: once a later event is delivered, nothing else came.
      const marker = event(CONTRACT_EVENT_TYPES[1]);
      await h.bus.publish([marker]);
      expect(distinct(await h.delivered(1)).map((e) => e.id)).toStrictEqual([marker.id]);
    });
  });
}
