/**
 * The HTTP edge of every Google Cloud function a push triggers: Eventarc
 * (Pub/Sub messages, audit logs), a Pub/Sub push subscription, Cloud
 * Scheduler. Each push carries a Google-signed OIDC token for
 * `WEFT_PUSH_AUDIENCE` naming `WEFT_PUSH_SERVICE_ACCOUNT`, checked before
 * the body is read (401 problem+json otherwise); then the body is one of:
 *
 * - an Eventarc CloudEvent in binary mode: the `ce-*` headers are its
 *   attributes and the body its `data` (for `...pubsub.topic.v1.messagePublished`
 *   the Pub/Sub push envelope, for `google.cloud.audit.log.v1.written` the
 *   LogEntry); a structured-mode body (`application/cloudevents+json`) is read too;
 * - a Pub/Sub push envelope `{ message: { data, attributes, messageId,
 *   publishTime }, subscription }`, without `ce-*` headers;
 * - whatever a Scheduler job sends (nothing is read from it).
 *
 * HTTP functions, not `cloudEvent` ones: functions-framework hands a
 * CloudEvent function the event without its headers, and the token is in one.
 * A handler's result is the 200 JSON response; what it throws maps to
 * problem+json, so a push that failed is retried (and then dead-lettered).
 *
 * | variable | |
 * |---|---|
 * | `WEFT_PUSH_AUDIENCE` | the audiences a token may be for, comma-separated: each function's URL, or one shared value (required) |
 * | `WEFT_PUSH_SERVICE_ACCOUNT` | the `email` of the tokens: the Eventarc and Scheduler service account (required) |
 *
 * @module
 */
import type { HttpFunction, Request } from '@google-cloud/functions-framework';
import type { JSONWebKeySet } from 'jose';
import * as z from 'zod';
import { readCappedBody } from '../../shared/api/body.js';
import type { ApiLogger } from '../../shared/api/create-api.js';
import { problemResponse } from '../../shared/api/problem.js';
import { type CloudEvent, parseCloudEvent } from '../../shared/events/cloud-event.js';
import { MalformedError } from '../../shared/model/errors.js';
import {
  createPushAuthenticator,
  googlePushAuth,
  type PushAuthenticator,
} from '../control-plane/push-auth.js';
import { consoleJsonLogger, type Env, EnvConfig } from '../control-plane/startup.js';

/** The type of an Eventarc Pub/Sub delivery. */
export const PUBSUB_MESSAGE_PUBLISHED = 'google.cloud.pubsub.topic.v1.messagePublished';

/** The context attributes of an Eventarc CloudEvent (extensions such as `methodname` included). */
export interface EventarcAttributes {
  readonly id: string;
  readonly type: string;
  readonly source: string;
  readonly specversion: string;
  readonly subject?: string;
  readonly time?: string;
  readonly [extension: string]: string | undefined;
}

/** One push, its token checked and its body parsed. */
export interface PushDelivery {
  /** The CloudEvent's attributes when Eventarc delivered it; absent for a plain Pub/Sub push or a Scheduler job. */
  readonly event?: EventarcAttributes;
  /** The payload as JSON (the Pub/Sub envelope, the LogEntry, a job's body); `undefined` when empty. */
  readonly data?: unknown;
  /** The delivery token's claims. */
  readonly claims: Readonly<Record<string, unknown>>;
}

/** What the handlers run with: built once per cold start. */
export type PushAuthGetter = () => PushAuthenticator | Promise<PushAuthenticator>;

/** The Pub/Sub push envelope (Eventarc's `messagePublished` data has the same shape). */
export interface PubSubMessageData {
  readonly message?: {
    readonly data?: string;
    readonly attributes?: Readonly<Record<string, string>>;
    readonly messageId?: string;
    readonly publishTime?: string;
  };
  readonly subscription?: string;
}

/** The push settings of the deployment. */
export interface GcpPushConfig {
  readonly audiences: readonly string[];
  readonly serviceAccount: string;
}

/**
 * Reads `WEFT_PUSH_AUDIENCE` and `WEFT_PUSH_SERVICE_ACCOUNT`. Does no I/O.
 *
 * @throws ConfigurationError naming what is missing or malformed.
 */
export function readGcpPushConfig(env: Env): GcpPushConfig {
  const config = new EnvConfig(env);
  const audience = config.require(
    'WEFT_PUSH_AUDIENCE',
    'is not set: the audience of the OIDC tokens Eventarc and Cloud Scheduler send (the functions’ URLs)',
  );
  const audiences = audience
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');
  if (audience && audiences.length === 0) config.invalid('WEFT_PUSH_AUDIENCE', 'names no audience');
  const serviceAccount = config.require(
    'WEFT_PUSH_SERVICE_ACCOUNT',
    'is not set: the service account Eventarc and Cloud Scheduler push as (weft-push@<project>.iam.gserviceaccount.com)',
  );
  if (serviceAccount && !/^[^@\s]+@[^@\s]+$/.test(serviceAccount))
    config.invalid(
      'WEFT_PUSH_SERVICE_ACCOUNT',
      `must be a service account's email, got ${JSON.stringify(serviceAccount)}`,
    );
  config.check('weft’s push-triggered functions on Google Cloud');
  return { audiences, serviceAccount };
}

/**
 * The check of the deployment's pushes: Google's keys (fetched from Google,
 * or `jwks` in a test), the configured audiences and service account.
 *
 * @throws ConfigurationError (see {@link readGcpPushConfig}).
 */
export function gcpPushAuthenticator(
  env: Env,
  options: { readonly jwks?: JSONWebKeySet; readonly fetch?: typeof fetch } = {},
): PushAuthenticator {
  const { audiences, serviceAccount } = readGcpPushConfig(env);
  return createPushAuthenticator(googlePushAuth({ audiences, serviceAccount, ...options }));
}

/**
 * Wraps `handle` as an HTTP function that checks the delivery's token,
 * parses it, and answers with what `handle` resolves to (as JSON).
 *
 * @param logger where failures (5xx) are logged; default JSON lines on the console (Cloud Logging).
 * @example
 * http('weftSweep', createGcpPushFunction(auth, async () => sweepAll(await plane())));
 */
export function createGcpPushFunction<T>(
  authenticate: PushAuthGetter,
  handle: (delivery: PushDelivery) => Promise<T>,
  logger: ApiLogger = consoleJsonLogger({ cloud: 'gcp' }),
): HttpFunction {
  return async (req, res) => {
    let response: { status: number; headers: Record<string, string>; body: string };
    try {
      const claims = await (await authenticate())({ headers: headersOf(req) });
      const outcome = await handle({ ...(await readDelivery(req)), claims });
      response = {
        status: 200,
        headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
        body: `${JSON.stringify(outcome ?? {})}\n`,
      };
    } catch (error) {
      response = problemResponse(error, req.path);
      if (response.status >= 500)
        logger.error({ msg: 'push delivery failed', path: req.path, error: (error as Error)?.message });
    }
    // writeHead, not res.set: Express would append a charset to the media types.
    res.writeHead(response.status, response.headers).end(response.body);
  };
}

function headersOf(req: Request): Record<string, string | undefined> {
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers))
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  return headers;
}

const attributeSchema = z.looseObject({
  specversion: z.string().min(1),
  id: z.string().min(1),
  type: z.string().min(1),
  source: z.string().min(1),
});

async function readDelivery(req: Request): Promise<Omit<PushDelivery, 'claims'>> {
  // The framework parsed JSON bodies and kept the bytes; with no Content-Type nothing was read yet.
  const text = await readCappedBody(
    req.readable ? req : undefined,
    req.headers['content-length'],
    req.rawBody,
  );
  const body = text === undefined || text.trim() === '' ? undefined : parseJson(text);
  const type = String(req.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
  if (type === 'application/cloudevents+json') {
    const { data, ...attributes } = parsedAttributes(body, 'the structured CloudEvent');
    return { event: attributes, ...(data !== undefined && { data }) };
  }
  if (req.headers['ce-specversion'] === undefined) return body === undefined ? {} : { data: body };
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(headersOf(req)))
    if (name.startsWith('ce-') && value !== undefined) attributes[name.slice(3)] = value;
  return {
    event: parsedAttributes(attributes, 'the ce-* headers'),
    ...(body !== undefined && { data: body }),
  };
}

function parsedAttributes(input: unknown, what: string): EventarcAttributes & { data?: unknown } {
  const parsed = attributeSchema.safeParse(input);
  if (!parsed.success)
    throw new MalformedError(
      `${what} are not a CloudEvent: ${parsed.error.issues[0]?.path.join('.')} is missing`,
    );
  return parsed.data as EventarcAttributes & { data?: unknown };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new MalformedError('the push body is not JSON', { cause: error });
  }
}

const envelopeSchema = z.object({
  message: z.looseObject({
    data: z.string().optional(),
    attributes: z.record(z.string(), z.string()).optional(),
    messageId: z.string().optional(),
    publishTime: z.string().optional(),
  }),
  subscription: z.string().optional(),
});

/**
 * The Pub/Sub message of a push: a plain push subscription's, or Eventarc's
 * `messagePublished`.
 *
 * @throws MalformedError for another event type, or a body that is no envelope.
 */
export function pubSubMessageOf(delivery: Pick<PushDelivery, 'event' | 'data'>): PubSubMessageData {
  if (delivery.event && delivery.event.type !== PUBSUB_MESSAGE_PUBLISHED)
    throw new MalformedError(
      `this function takes Pub/Sub messages (${PUBSUB_MESSAGE_PUBLISHED}), not ${delivery.event.type}`,
    );
  const parsed = envelopeSchema.safeParse(delivery.data);
  if (!parsed.success)
    throw new MalformedError('the push is not a Pub/Sub envelope: expected {"message": {"data": ...}}');
  return parsed.data;
}

/**
 * weft's CloudEvent inside a Pub/Sub message: its `data` is the UTF-8 JSON
 * of the event in structured mode (what `PubSubEventBus` publishes).
 *
 * @throws MalformedError or ValidationError for a message that holds no weft CloudEvent, so the
 *   subscription retries and then dead-letters it.
 */
export function unwrapPubSub(delivery: {
  readonly event?: EventarcAttributes;
  readonly data?: unknown;
}): CloudEvent {
  const data = pubSubMessageOf(delivery).message?.data;
  if (!data) throw new MalformedError('the Pub/Sub message has no data: expected a weft CloudEvent');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(data, 'base64').toString('utf8'));
  } catch (error) {
    throw new MalformedError('the Pub/Sub message data is not a JSON CloudEvent', { cause: error });
  }
  return parseCloudEvent(parsed);
}
