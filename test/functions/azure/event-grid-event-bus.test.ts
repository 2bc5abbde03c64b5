/**
 * EventGridEventBus with the real @azure/eventgrid SDK against Event Grid
 * faked at its HTTP API (test/support/fake-event-grid.ts): nothing of Event
 * Grid runs outside Azure. The contract reads deliveries where a function
 * would: a webhook the fake topic pushes each event to, after the
 * abuse-protection handshake, in structured mode.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AzureKeyCredential, EventGridPublisherClient } from '@azure/eventgrid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_GRID_MAX_BYTES, EventGridEventBus } from '../../../functions/azure/event-grid-event-bus.js';
import type { CloudEvent } from '../../../shared/events/cloud-event.js';
import { PayloadTooLargeError, UnavailableError, ValidationError } from '../../../shared/model/errors.js';
import { CONTRACT_EVENT_TYPES, describeEventBusContract } from '../../contract/event-bus.js';
import { type FakeEventGrid, startFakeEventGrid } from '../../support/fake-event-grid.js';

const SECRET = 'delivery-secret';

/** A function's webhook: answers the handshake, takes each CloudEvent once its delivery header checks out. */
interface Webhook {
  readonly url: string;
  readonly received: CloudEvent[];
  readonly contentTypes: string[];
  /** Answers the next `times` deliveries with `status`. */
  fail(status: number, times: number): void;
  close(): Promise<void>;
}

async function startWebhook(): Promise<Webhook> {
  const received: CloudEvent[] = [];
  const contentTypes: string[] = [];
  let failing = { status: 0, left: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.headers['x-weft-delivery-secret'] !== SECRET) return void res.writeHead(401).end();
      if (req.method === 'OPTIONS') {
        res.writeHead(200, { 'WebHook-Allowed-Origin': String(req.headers['webhook-request-origin']) });
        return void res.end();
      }
      if (failing.left > 0) {
        failing.left -= 1;
        return void res.writeHead(failing.status).end();
      }
      contentTypes.push(String(req.headers['content-type']));
      received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as CloudEvent);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/runtime/webhooks/weftCompile`,
    received,
    contentTypes,
    fail(status, times) {
      failing = { status, left: times };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let grid: FakeEventGrid;
beforeAll(async () => {
  grid = await startFakeEventGrid();
});
afterAll(async () => {
  await grid?.close();
});

describeEventBusContract('EventGridEventBus on a fake Event Grid topic (pushed to a webhook)', async () => {
  const webhook = await startWebhook();
  const subscription = await grid.subscribe(webhook.url, {
    headers: { 'x-weft-delivery-secret': SECRET },
    includedEventTypes: [...CONTRACT_EVENT_TYPES],
  });
  return {
    bus: new EventGridEventBus({ client: grid.client() }),
    async delivered(count) {
      const deadline = Date.now() + 5000;
      while (new Set(webhook.received.map((e) => e.id)).size < count && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return [...webhook.received];
    },
    async close() {
      subscription.cancel();
      await grid.idle();
      await webhook.close();
    },
  };
});

const event = (id: string, data: unknown = { id }): CloudEvent => ({
  specversion: '1.0',
  id,
  source: '/weft/azure',
  type: CONTRACT_EVENT_TYPES[0],
  data,
});

/** The topic's requests and events from here on. */
function since() {
  const [requests, events] = [grid.requests.length, grid.events.length];
  return { requests: () => grid.requests.slice(requests), events: () => grid.events.slice(events) };
}

describe('EventGridEventBus', () => {
  it('sends each event exactly as published: nothing the SDK would add, data of any JSON type', async () => {
    const seen = since();
    const events = [
      event('bare', undefined),
      event('text', 'just text'),
      event('array', [1, 'two', { three: [3] }]),
      event('number', 42),
      { ...event('full', null), time: '2030-01-02T03:04:05.123456+02:00', subject: 'Service/shop/orders' },
    ];
    await new EventGridEventBus({ client: grid.client() }).publish(events);
    expect(seen.events()).toStrictEqual(events.map((e) => JSON.parse(JSON.stringify(e))));
    expect(seen.events()[0]).not.toHaveProperty('time');
    expect(seen.events()[0]).not.toHaveProperty('datacontenttype');
    expect(seen.requests()).toStrictEqual([{ status: 200, events: 5, bytes: expect.any(Number) }]);
  });

  it('cuts batches to 1 MB a request, and sends a 1 MB event alone', async () => {
    const seen = since();
    const bus = new EventGridEventBus({ client: grid.client() });
    // 300 KB each: three fit in 1 MB, the fourth does not.
    await bus.publish(Array.from({ length: 7 }, (_, i) => event(`l${i}`, 'x'.repeat(300_000))));
    expect(seen.requests().map((r) => r.events)).toStrictEqual([3, 3, 1]);
    const near = EVENT_GRID_MAX_BYTES - 2 - JSON.stringify(event('near', '')).length;
    await bus.publish([event('small'), event('near', 'y'.repeat(near)), event('after')]);
    expect(seen.requests().map((r) => r.events)).toStrictEqual([3, 3, 1, 1, 1, 1]);
    for (const r of seen.requests()) expect(r.bytes).toBeLessThanOrEqual(EVENT_GRID_MAX_BYTES);
    expect(seen.requests()[4]?.bytes).toBe(EVENT_GRID_MAX_BYTES);
  });

  it('refuses an event over 1 MB before sending anything', async () => {
    const seen = since();
    const bus = new EventGridEventBus({ client: grid.client() });
    const near = EVENT_GRID_MAX_BYTES - 2 - JSON.stringify(event('big', '')).length;
    const error = await bus
      .publish([event('ok'), event('big', 'z'.repeat(near + 1))])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect((error as Error).message).toMatch(/event 1 \(.* big\) .*at most 1000000/);
    expect(seen.requests()).toStrictEqual([]);
  });

  it('sends a request Event Grid fails transiently again, with backoff, until it is taken', async () => {
    const seen = since();
    const bus = new EventGridEventBus({ client: grid.client(), retryDelay: { baseMs: 5, capMs: 20 } });
    grid.fail(503, 2);
    await bus.publish([event('r1'), event('r2')]);
    expect(seen.requests().map((r) => r.status)).toStrictEqual([503, 503, 200]);
    expect(seen.events().map((e) => e.id)).toStrictEqual(['r1', 'r2']);
  });

  it('gives up after maxAttempts with UnavailableError', async () => {
    const bus = new EventGridEventBus({
      client: grid.client(),
      maxAttempts: 3,
      retryDelay: { baseMs: 1, capMs: 2 },
    });
    grid.fail(429, 3);
    const seen = since();
    const error = await bus.publish([event('t')]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toMatch(/is throttling or failing on Event Grid topic .* 3 times/);
    expect(seen.requests().map((r) => r.status)).toStrictEqual([429, 429, 429]);
  });

  it('reports a wrong key, a missing topic and an unreachable one as UnavailableError, at once', async () => {
    const client = (endpoint: string, key: string) =>
      new EventGridPublisherClient(endpoint, 'CloudEvent', new AzureKeyCredential(key), {
        allowInsecureConnection: true,
        retryOptions: { maxRetries: 0 },
      });
    const seen = since();
    const wrongKey = new EventGridEventBus({ client: client(grid.endpoint, 'wrong') });
    const refused = await wrongKey.publish([event('k')]).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(UnavailableError);
    expect((refused as Error).message).toMatch(/refused the credentials \(Unauthorized\)/);
    const missing = new EventGridEventBus({
      client: client(grid.endpoint.replace('/api/events', '/nope'), grid.key),
    });
    const absent = await missing.publish([event('m')]).catch((e: unknown) => e);
    expect(absent).toBeInstanceOf(UnavailableError);
    expect((absent as Error).message).toMatch(/does not exist/);
    expect(seen.requests().map((r) => r.status)).toStrictEqual([401, 404]);

    const stopped = await startFakeEventGrid();
    await stopped.close();
    const unreachable = new EventGridEventBus({
      client: stopped.client(),
      maxAttempts: 2,
      retryDelay: { baseMs: 1, capMs: 2 },
    });
    const error = await unreachable.publish([event('u')]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toMatch(/could not reach Event Grid topic .* \(ECONNREFUSED\) 2 times/);
  });

  it('names the offending event in a ValidationError, and keeps its own attribute to itself', async () => {
    const bus = new EventGridEventBus({ client: grid.client() });
    const bad = await bus.publish([event('ok'), { ...event('bad'), source: 'a b' }]).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ValidationError);
    expect((bad as ValidationError).field).toBe('/1/source');
    const reserved = await bus
      .publish([{ ...event('w'), weftwire: '{}' } as CloudEvent])
      .catch((e: unknown) => e);
    expect((reserved as ValidationError).field).toBe('/0/weftwire');
  });

  it('leaves sends of the same client made without the bus as the SDK makes them, once per client', async () => {
    const client = grid.client();
    new EventGridEventBus({ client });
    new EventGridEventBus({ client }); // a second bus on the client adds no second policy
    const seen = since();
    await client.send([{ id: 'sdk', source: '/sdk', type: 'sdk.own', data: { a: 1 } }]);
    expect(seen.events()).toStrictEqual([
      expect.objectContaining({ id: 'sdk', time: expect.any(String), datacontenttype: 'application/json' }),
    ]);
  });

  it('cannot subscribe in process, and says where delivery happens instead', () => {
    const bus = new EventGridEventBus({ client: grid.client() });
    expect(() => bus.subscribe('dev.weft.resource.changed', async () => {})).toThrow(
      /Event Grid subscription on the topic \(CloudEvents schema\) pushes dev.weft.resource.changed/,
    );
    expect(() => new EventGridEventBus({ client: {} as never })).toThrow(/@azure\/eventgrid 5/);
  });
});

describe('the fake Event Grid topic', () => {
  it('takes a Bearer token it knows, and refuses other auth and bodies Event Grid refuses', async () => {
    const topic = await startFakeEventGrid({ tokens: ['entra-token'] });
    const post = (
      headers: Record<string, string>,
      body = '[{"specversion":"1.0","id":"1","source":"/s","type":"t"}]',
    ) =>
      fetch(`${topic.endpoint}?api-version=2018-01-01`, {
        method: 'POST',
        headers: { 'content-type': 'application/cloudevents-batch+json; charset=utf-8', ...headers },
        body,
      }).then((r) => r.status);
    expect(await post({ authorization: 'Bearer entra-token' })).toBe(200);
    expect(await post({ authorization: 'Bearer other' })).toBe(401);
    expect(await post({})).toBe(401);
    expect(await post({ 'aeg-sas-key': topic.key }, '[{"id":"1"}]')).toBe(400);
    expect(await post({ 'aeg-sas-key': topic.key, 'content-type': 'application/json' })).toBe(400);
    expect(topic.events.map((e) => e.id)).toStrictEqual(['1']);
    await topic.close();
  });

  it('retries a failing webhook, dead-letters on 400, and refuses a webhook that fails the handshake', async () => {
    const topic = await startFakeEventGrid();
    const webhook = await startWebhook();
    const subscription = await topic.subscribe(webhook.url, {
      headers: { 'x-weft-delivery-secret': SECRET },
      retryDelaysMs: [1, 1, 1],
    });
    const bus = new EventGridEventBus({ client: topic.client() });
    webhook.fail(500, 2);
    await bus.publish([event('retried')]);
    await topic.idle();
    webhook.fail(400, 1);
    await bus.publish([event('rejected')]);
    await topic.idle();
    expect(subscription.deliveries).toStrictEqual([
      { id: 'retried', outcome: 'delivered', attempts: 3, status: 200 },
      { id: 'rejected', outcome: 'dead-lettered', attempts: 1, status: 400 },
    ]);
    expect(webhook.contentTypes).toStrictEqual(['application/cloudevents+json; charset=utf-8']);
    await expect(topic.subscribe(webhook.url)).rejects.toThrow(
      /failed Event Grid's validation handshake: 401/,
    );
    await webhook.close();
    await topic.close();
  });
});
