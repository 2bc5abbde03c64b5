/**
 * The HTTP edge of every Azure function Event Grid delivers to (`compile`
 * and `relay` on the changes topic, `registrar` on the resource group's
 * system topic): webhooks, not `app.eventGrid` triggers, because Event
 * Grid's Entra ID delivery token reaches only an HTTP function, and weft
 * checks it itself. One delivery is, in order:
 *
 * 1. the CloudEvents abuse-protection handshake, `OPTIONS` with
 *    `WebHook-Request-Origin`, answered 200 with `WebHook-Allowed-Origin`
 *    and `WebHook-Allowed-Rate: *`; or the Event Grid schema's
 *    `Microsoft.EventGrid.SubscriptionValidationEvent`, answered with
 *    `{ validationResponse: data.validationCode }`. Both before any check:
 *    Event Grid sends the token with them when Entra ID auth is on, but may
 *    not (the handshake only asks the endpoint's consent, and grants none);
 * 2. the check ({@link azurePushAuthenticator}): an Entra ID token Event
 *    Grid's own app got for `WEFT_PUSH_AUDIENCE` in `WEFT_PUSH_TENANT_ID`,
 *    or the `x-weft-delivery-secret` header holding `WEFT_PUSH_SECRET`;
 *    401 problem+json otherwise;
 * 3. the body: one CloudEvent in structured mode (`application/cloudevents+json`),
 *    a batch (`application/cloudevents-batch+json`, an array), or an array in
 *    the Event Grid schema, whose events are read as CloudEvents the way
 *    Event Grid maps them (`topic` → `source`, `eventType` → `type`,
 *    `eventTime` → `time`).
 *
 * A handler's result is the 200 JSON response; what it throws maps to
 * problem+json (RFC 9457), so a delivery that failed is retried and then
 * dead-lettered by Event Grid.
 *
 * | variable | |
 * |---|---|
 * | `WEFT_PUSH_TENANT_ID` | the Entra tenant of the delivery tokens (with `WEFT_PUSH_AUDIENCE`) |
 * | `WEFT_PUSH_AUDIENCE` | the app ID URI (or client ID) tokens are for, comma-separated when both |
 * | `WEFT_PUSH_SECRET` | instead of Entra ID: the secret (32+ characters) Event Grid sends in `x-weft-delivery-secret` |
 *
 * @module
 */
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { JSONWebKeySet } from 'jose';
import type { ApiLogger } from '../../shared/api/create-api.js';
import { problemResponse } from '../../shared/api/problem.js';
import { splitTarget } from '../../shared/api/request-gate.js';
import { MAX_BODY_BYTES } from '../../shared/api/types.js';
import { MalformedError, MethodNotAllowedError, PayloadTooLargeError } from '../../shared/model/errors.js';
import {
  createPushAuthenticator,
  entraPushAuth,
  type PushAuthenticator,
  requireEventGridCaller,
  sharedSecretAuth,
} from '../control-plane/push-auth.js';
import { consoleJsonLogger, type Env, EnvConfig } from '../control-plane/startup.js';

/** The header Event Grid's delivery attribute carries the shared secret in. */
export const DELIVERY_SECRET_HEADER = 'x-weft-delivery-secret';
/** The Event Grid schema's validation event (system topics and Event Grid-schema subscriptions send it). */
export const SUBSCRIPTION_VALIDATION_EVENT = 'Microsoft.EventGrid.SubscriptionValidationEvent';
/** Every webhook takes the handshake and the deliveries, nothing else. */
export const WEBHOOK_METHODS = ['OPTIONS', 'POST'] as const;

/** One event as a CloudEvent: its attributes, and `data`. */
export type DeliveredEvent = Readonly<Record<string, unknown>>;

/** One delivery, its caller checked and its body read. */
export interface EventGridDelivery {
  /** The events, each as a CloudEvent (not yet validated: each handler parses what it takes). */
  readonly events: readonly DeliveredEvent[];
  /** The delivery token's claims (`{}` with a shared secret). */
  readonly claims: Readonly<Record<string, unknown>>;
}

/** What the handlers check deliveries with: built once per cold start. */
export type PushAuthGetter = () => PushAuthenticator | Promise<PushAuthenticator>;

/** An HTTP function of the v4 programming model. */
export type AzureHttpHandler = (
  request: HttpRequest,
  context?: InvocationContext,
) => Promise<HttpResponseInit>;

/** How deliveries are checked. */
export type AzurePushConfig =
  | { readonly kind: 'entra'; readonly tenantId: string; readonly audiences: readonly string[] }
  | { readonly kind: 'secret'; readonly secret: string };

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Reads `WEFT_PUSH_TENANT_ID` with `WEFT_PUSH_AUDIENCE`, or `WEFT_PUSH_SECRET`. Does no I/O.
 *
 * @throws ConfigurationError when neither is set, both are, or one is malformed.
 */
export function readAzurePushConfig(env: Env): AzurePushConfig {
  const config = new EnvConfig(env);
  const audience = config.optional('WEFT_PUSH_AUDIENCE');
  const secret = config.optional('WEFT_PUSH_SECRET');
  let result: AzurePushConfig = { kind: 'secret', secret: secret ?? '' };
  if (audience !== undefined && secret !== undefined) {
    config.invalid('WEFT_PUSH_SECRET', 'and WEFT_PUSH_AUDIENCE are both set; set one of them');
  } else if (audience !== undefined) {
    const tenantId = config.require(
      'WEFT_PUSH_TENANT_ID',
      'is not set: the Entra tenant of the tokens Event Grid delivers with',
    );
    if (tenantId && !GUID.test(tenantId))
      config.invalid('WEFT_PUSH_TENANT_ID', `must be a tenant ID (a GUID), got ${JSON.stringify(tenantId)}`);
    const audiences = audience
      .split(',')
      .map((a) => a.trim())
      .filter((a) => a !== '');
    if (audiences.length === 0) config.invalid('WEFT_PUSH_AUDIENCE', 'names no audience');
    result = { kind: 'entra', tenantId: tenantId.toLowerCase(), audiences };
  } else if (secret !== undefined) {
    if (secret.length < 32) config.invalid('WEFT_PUSH_SECRET', 'must be at least 32 characters');
  } else {
    config.invalid(
      'WEFT_PUSH_AUDIENCE',
      '(with WEFT_PUSH_TENANT_ID), or WEFT_PUSH_SECRET, is not set: how Event Grid deliveries are checked',
    );
  }
  config.check('weft’s Event Grid webhooks on Azure');
  return result;
}

/**
 * The check of the deployment's deliveries: Entra ID's keys (fetched from
 * the tenant, or `jwks` in a test), the audiences, the tenant and Event
 * Grid's app as the caller; or the shared secret.
 *
 * @throws ConfigurationError (see {@link readAzurePushConfig}).
 * @example
 * const authenticate = onFirstCall(() => azurePushAuthenticator(process.env));
 */
export function azurePushAuthenticator(
  env: Env,
  options: { readonly jwks?: JSONWebKeySet; readonly fetch?: typeof fetch } = {},
): PushAuthenticator {
  const config = readAzurePushConfig(env);
  if (config.kind === 'secret') return sharedSecretAuth(DELIVERY_SECRET_HEADER, config.secret);
  const { tenantId, audiences } = config;
  return requireEventGridCaller(createPushAuthenticator(entraPushAuth({ tenantId, audiences, ...options })));
}

/**
 * Wraps `handle` as an HTTP function that answers the handshakes, checks
 * the delivery, reads its events and answers with what `handle` resolves to (as JSON).
 *
 * @example
 * app.http('weftCompile', { route: 'events/compile', methods: [...WEBHOOK_METHODS], handler:
 *   createEventGridHandler(authenticate, async ({ events }) => compileEvents(await plane(), events.map(parseCloudEvent))) });
 */
export function createEventGridHandler<T>(
  authenticate: PushAuthGetter,
  handle: (delivery: EventGridDelivery) => Promise<T>,
  /** Where failures (5xx) are logged. @default JSON lines on the console (Application Insights) */
  logger: ApiLogger = consoleJsonLogger({ cloud: 'azure' }),
): AzureHttpHandler {
  return async (request) => {
    const { path } = splitTarget(request.url);
    try {
      if (request.method === 'OPTIONS') return handshake(request);
      if (request.method !== 'POST')
        throw new MethodNotAllowedError(
          `${request.method} is not a delivery: Event Grid POSTs events here`,
          WEBHOOK_METHODS,
        );
      const text = await readBody(request);
      const validationCode = subscriptionValidationCode(text);
      if (validationCode !== undefined) return json({ validationResponse: validationCode });
      const claims = await (await authenticate())({ headers: Object.fromEntries(request.headers) });
      const events = readEvents(text, request.headers.get('content-type'));
      return json((await handle({ events, claims })) ?? {});
    } catch (error) {
      const response = problemResponse(error, path);
      if (response.status >= 500)
        logger.error({ msg: 'Event Grid delivery failed', path, error: (error as Error)?.message });
      return { status: response.status, headers: { ...response.headers }, body: response.body };
    }
  };
}

/** The CloudEvents 1.0 abuse-protection handshake: consent to whoever asks, at any rate. */
function handshake(request: HttpRequest): HttpResponseInit {
  const origin = request.headers.get('webhook-request-origin')?.trim();
  if (!origin) return { status: 204, headers: { allow: WEBHOOK_METHODS.join(', ') } };
  return {
    status: 200,
    headers: {
      allow: WEBHOOK_METHODS.join(', '),
      'webhook-allowed-origin': origin,
      'webhook-allowed-rate': '*',
    },
  };
}

async function readBody(request: HttpRequest): Promise<string> {
  // Refuse before buffering what is declared too large; then what arrived.
  const tooLarge = () =>
    new PayloadTooLargeError(`the delivery is over ${MAX_BODY_BYTES} bytes; Event Grid sends at most 1 MB`);
  if (Number(request.headers.get('content-length') ?? 0) > MAX_BODY_BYTES) throw tooLarge();
  const text = await request.text();
  if (Buffer.byteLength(text) > MAX_BODY_BYTES) throw tooLarge();
  return text;
}

/** The validation code of an Event Grid schema validation event; `undefined` for any other body. */
function subscriptionValidationCode(text: string): string | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  const event = (Array.isArray(body) && body.length === 1 ? body[0] : undefined) as
    | { eventType?: unknown; data?: { validationCode?: unknown } }
    | undefined;
  const code = event?.eventType === SUBSCRIPTION_VALIDATION_EVENT ? event.data?.validationCode : undefined;
  return typeof code === 'string' && code !== '' ? code : undefined;
}

/**
 * The events of a delivery body, each as a CloudEvent.
 *
 * @throws MalformedError for a body that is not JSON, or holds no event.
 */
export function readEvents(text: string, contentType: string | null = null): DeliveredEvent[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw new MalformedError('the delivery body is not JSON', { cause: error });
  }
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/cloudevents+json' || (!Array.isArray(body) && isObject(body))) {
    if (!isObject(body)) throw new MalformedError('a structured-mode delivery holds one CloudEvent object');
    return [body];
  }
  if (!Array.isArray(body) || body.length === 0 || !body.every(isObject))
    throw new MalformedError('the delivery holds no events: expected a CloudEvent or an array of events');
  return body.map((event) => (isEventGridSchema(event) ? fromEventGridSchema(event) : event));
}

/** An event of the Event Grid schema: `eventType` and `dataVersion`, no `specversion`. */
function isEventGridSchema(event: Record<string, unknown>): boolean {
  return event.specversion === undefined && typeof event.eventType === 'string';
}

/** An Event Grid schema event as Event Grid itself maps it to a CloudEvent. */
function fromEventGridSchema(event: Record<string, unknown>): DeliveredEvent {
  const { id, topic, subject, eventType, eventTime, data, dataVersion: _d, metadataVersion: _m } = event;
  return {
    specversion: '1.0',
    id,
    source: topic,
    type: eventType,
    ...(subject !== undefined && subject !== '' && { subject }),
    ...(eventTime !== undefined && { time: eventTime }),
    ...(data !== undefined && { data }),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function json(value: unknown): HttpResponseInit {
  return {
    status: 200,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: `${JSON.stringify(value)}\n`,
  };
}
