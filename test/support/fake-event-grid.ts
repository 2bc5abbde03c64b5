/**
 * An Event Grid custom topic in the CloudEvents 1.0 schema, faked at its
 * HTTP API: nothing of Event Grid runs outside Azure. A real HTTP server on
 * loopback, reached by the real SDK:
 *
 * ```ts
 * new EventGridPublisherClient(grid.endpoint, 'CloudEvent', new AzureKeyCredential(grid.key), {
 *   allowInsecureConnection: true,
 * });
 * ```
 *
 * What it keeps of the service:
 *
 * - publishing is `POST /api/events?api-version=...` with
 *   `content-type: application/cloudevents-batch+json; charset=utf-8` and a
 *   JSON array of CloudEvents (each with `specversion` 1.0, `id`, `source`,
 *   `type`); anything else is 400;
 * - it authenticates with the topic key in `aeg-sas-key`, or an Entra token
 *   in `Authorization: Bearer` (the tokens it is told to take): else 401;
 * - a request, or one event in it, over 1 MB is 413, taking none of it;
 * - it can be told to fail the next requests (throttling, an outage);
 * - push delivery to webhook subscribers: the CloudEvents abuse-protection
 *   handshake first (`OPTIONS` with `WebHook-Request-Origin:
 *   eventgrid.azure.net`, which must answer `WebHook-Allowed-Origin`), then
 *   each later event alone, in structured mode
 *   (`application/cloudevents+json`), with the subscription's delivery
 *   headers (its auth), retried a few times with backoff on failure, except
 *   400 and 413, which Event Grid dead-letters at once.
 *
 * Its retries are milliseconds apart where Event Grid's are seconds to hours.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AzureKeyCredential, EventGridPublisherClient } from '@azure/eventgrid';

/** Most bytes of a publish request, and so of one event in it: 1 MB (taken as 2^20, the generous reading). */
export const FAKE_EVENT_GRID_MAX_BYTES = 1_048_576;
const ORIGIN = 'eventgrid.azure.net';

/** An event as the topic holds it: a CloudEvent in its JSON form. */
export type TopicEvent = Record<string, unknown> & { readonly id: string; readonly type: string };

export interface FakeEventGridOptions {
  /** The topic's access key. @default a random one */
  readonly key?: string;
  /** Entra access tokens it takes as `Authorization: Bearer <token>`. @default none */
  readonly tokens?: readonly string[];
}

export interface WebhookSubscriptionOptions {
  /** Sent with the handshake and every delivery: the subscription's auth (`Authorization`, a secret header). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Only these types are delivered. @default every type */
  readonly includedEventTypes?: readonly string[];
  /** Delays before each retry of a failed delivery; its length is the number of retries. @default [10, 50, 200] */
  readonly retryDelaysMs?: readonly number[];
}

/** What became of one event pushed to one subscriber. */
export interface Delivery {
  readonly id: string;
  /** `delivered`, or `dead-lettered` once the retries ran out (or at once for 400 / 413). */
  readonly outcome: 'delivered' | 'dead-lettered';
  readonly attempts: number;
  /** The last answer's status; 0 when the endpoint could not be reached. */
  readonly status: number;
}

export interface WebhookSubscription {
  /** Every delivery that has ended, in the order they ended. */
  readonly deliveries: readonly Delivery[];
  /** Stops delivering later events; deliveries under way finish. */
  cancel(): void;
}

export interface FakeEventGrid {
  /** `http://127.0.0.1:<port>/api/events`: the topic endpoint the SDK posts to. */
  readonly endpoint: string;
  readonly key: string;
  /** Every event the topic took, in order, as it was sent. */
  readonly events: readonly TopicEvent[];
  /** One entry per request answered: its status, events and body bytes. */
  readonly requests: readonly { readonly status: number; readonly events: number; readonly bytes: number }[];
  /** A client of the real SDK for this topic, with the key, retrying nothing. */
  client(): EventGridPublisherClient<'CloudEvent'>;
  /** Answers the next `times` authenticated publish requests with `status` (and takes none of their events). */
  fail(status: number, times?: number): void;
  /**
   * Validates `url` with the abuse-protection handshake, then pushes every
   * event published from now on to it.
   *
   * @throws Error when the handshake fails: Event Grid would not create the subscription.
   */
  subscribe(url: string, options?: WebhookSubscriptionOptions): Promise<WebhookSubscription>;
  /** Resolves once every delivery started so far has ended. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts a fake topic on a free loopback port.
 *
 * @example
 * const grid = await startFakeEventGrid();
 * const bus = new EventGridEventBus({ client: grid.client() });
 */
export async function startFakeEventGrid(options: FakeEventGridOptions = {}): Promise<FakeEventGrid> {
  const key = options.key ?? randomBytes(32).toString('base64');
  const tokens = new Set(options.tokens ?? []);
  const events: TopicEvent[] = [];
  const requests: { status: number; events: number; bytes: number }[] = [];
  const subscribers = new Set<(event: TopicEvent) => void>();
  const inFlight = new Set<Promise<void>>();
  let failures: { status: number; left: number } | undefined;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ status: publish(req, body, res), events: count(body), bytes: body.length });
    });
  });

  /** Answers one request as the topic does; returns the status it answered with. */
  function publish(req: IncomingMessage, body: Buffer, res: ServerResponse): number {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/api/events') return answer(res, 404, 'NotFound', `no topic at ${url.pathname}`);
    if (req.method !== 'POST') return answer(res, 405, 'MethodNotAllowed', 'publish with POST');
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (req.headers['aeg-sas-key'] !== key && !(bearer && tokens.has(bearer)))
      return answer(res, 401, 'Unauthorized', 'the request carries no valid aeg-sas-key or Entra token');
    if (!url.searchParams.get('api-version'))
      return answer(res, 400, 'BadRequest', 'the api-version query parameter is required');
    if (failures && failures.left > 0) {
      failures.left -= 1;
      return answer(res, failures.status, 'Injected', 'failure injected by the test');
    }
    if (req.headers['content-type'] !== 'application/cloudevents-batch+json; charset=utf-8')
      return answer(res, 400, 'BadRequest', `unsupported content-type ${req.headers['content-type']}`);
    if (body.length > FAKE_EVENT_GRID_MAX_BYTES)
      return answer(res, 413, 'PayloadTooLarge', `the request is ${body.length} bytes; at most 1 MB`);
    let batch: unknown;
    try {
      batch = JSON.parse(body.toString('utf8'));
    } catch {
      return answer(res, 400, 'BadRequest', 'the body is not JSON');
    }
    if (!Array.isArray(batch) || batch.length === 0)
      return answer(res, 400, 'BadRequest', 'the body must be a non-empty array of CloudEvents');
    for (const [i, event] of batch.entries()) {
      if (!isCloudEvent(event))
        return answer(res, 400, 'BadRequest', `event ${i} lacks specversion 1.0, id, source or type`);
    }
    events.push(...batch);
    for (const event of batch) for (const deliver of subscribers) deliver(event);
    res.writeHead(200).end();
    return 200;
  }

  async function idle(): Promise<void> {
    while (inFlight.size > 0) await Promise.all(inFlight);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/events`;

  return {
    endpoint,
    key,
    events,
    requests,
    client: () =>
      new EventGridPublisherClient(endpoint, 'CloudEvent', new AzureKeyCredential(key), {
        allowInsecureConnection: true,
        retryOptions: { maxRetries: 0 },
      }),
    fail(status, times = 1) {
      failures = { status, left: times };
    },
    async subscribe(url, subscription = {}) {
      const headers = subscription.headers ?? {};
      await handshake(url, headers);
      const retryDelays = subscription.retryDelaysMs ?? [10, 50, 200];
      const types = subscription.includedEventTypes && new Set(subscription.includedEventTypes);
      const deliveries: Delivery[] = [];
      const deliver = (event: TopicEvent) => {
        if (types && !types.has(event.type)) return;
        const done = push(url, headers, event, retryDelays).then((delivery) => {
          deliveries.push(delivery);
          inFlight.delete(done);
        });
        inFlight.add(done);
      };
      subscribers.add(deliver);
      return { deliveries, cancel: () => subscribers.delete(deliver) };
    },
    idle,
    async close() {
      subscribers.clear();
      await idle();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The abuse-protection handshake of CloudEvents 1.0 webhooks, as Event Grid sends it. */
async function handshake(url: string, headers: Readonly<Record<string, string>>): Promise<void> {
  const response = await fetch(url, {
    method: 'OPTIONS',
    headers: { ...headers, 'WebHook-Request-Origin': ORIGIN, 'WebHook-Request-Rate': '120' },
  });
  await response.arrayBuffer();
  const allowed = response.headers.get('webhook-allowed-origin');
  if (!response.ok || (allowed !== ORIGIN && allowed !== '*')) {
    throw new Error(
      `webhook ${url} failed Event Grid's validation handshake: ${response.status}, WebHook-Allowed-Origin ${allowed ?? 'absent'}`,
    );
  }
}

/** One event to one webhook, with retries; resolves with what became of it (it never rejects). */
async function push(
  url: string,
  headers: Readonly<Record<string, string>>,
  event: TopicEvent,
  retryDelays: readonly number[],
): Promise<Delivery> {
  let status = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          ...headers,
          'content-type': 'application/cloudevents+json; charset=utf-8',
          'aeg-event-type': 'Notification',
          'aeg-delivery-count': String(attempt - 1),
        },
        body: JSON.stringify(event),
      });
      await response.arrayBuffer();
      status = response.status;
    } catch {
      status = 0;
    }
    if (status >= 200 && status < 300)
      return { id: event.id, outcome: 'delivered', attempts: attempt, status };
    const delay = retryDelays[attempt - 1];
    if (status === 400 || status === 413 || delay === undefined)
      return { id: event.id, outcome: 'dead-lettered', attempts: attempt, status };
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

function isCloudEvent(event: unknown): event is TopicEvent {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return false;
  const { specversion, id, source, type } = event as Record<string, unknown>;
  return specversion === '1.0' && [id, source, type].every((v) => typeof v === 'string' && v !== '');
}

/** Events in a publish body, for the request log; 0 when it is no JSON array. */
function count(body: Buffer): number {
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    return Array.isArray(parsed) ? parsed.length : 0;
  } catch {
    return 0;
  }
}

/** Answers with Event Grid's error body; returns the status. */
function answer(res: ServerResponse, status: number, code: string, message: string): number {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify({ error: { code, message } }));
  return status;
}
