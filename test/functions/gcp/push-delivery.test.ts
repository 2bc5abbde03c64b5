/**
 * The HTTP edge of the push-triggered Google Cloud functions, over real HTTP
 * through functions-framework: the OIDC check (tokens minted from a local
 * JWKS standing in for Google's), then the three shapes a push takes
 * (Eventarc binary mode, a plain Pub/Sub push, a Scheduler job), each as
 * Google documents it (see push-test-server.ts).
 */
import { http } from '@google-cloud/functions-framework';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../functions/control-plane/startup.js';
import {
  createGcpPushFunction,
  gcpPushAuthenticator,
  PUBSUB_MESSAGE_PUBLISHED,
  type PushDelivery,
  readGcpPushConfig,
  unwrapPubSub,
} from '../../../functions/gcp/push-delivery.js';
import { createTokenIssuer } from '../../support/token-issuer.js';
import {
  createPushIssuer,
  eventarcPubSubPush,
  PUSH_AUDIENCE,
  PUSH_SA,
  type PushIssuer,
  pubSubEnvelope,
  push,
  pushClaims,
  schedulerPush,
  TOPIC,
} from './push-test-server.js';

const ECHO = 'weftPushEcho';
const SILENT = { info() {}, error() {} };
const weftEvent = {
  specversion: '1.0',
  id: 'a1b2c3',
  source: '/weft/gcp',
  type: 'dev.weft.resource.changed',
  data: { kind: 'Service' },
};

let google: PushIssuer;
const seen: PushDelivery[] = [];

beforeAll(async () => {
  google = await createPushIssuer();
  http(
    ECHO,
    createGcpPushFunction(
      () => google.authenticate,
      async (delivery) => {
        seen.push(delivery);
        return { ok: true };
      },
      SILENT,
    ),
  );
});

const unsigned = (claims: object) => {
  const part = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`;
};

describe('the push check', () => {
  it('accepts a token Google signed for the audience and the push service account', async () => {
    const res = await push(ECHO, await schedulerPush(google));
    expect(res).toMatchObject({ status: 200, body: { ok: true } });
    expect(res.contentType).toBe('application/json');
    expect(seen.at(-1)?.claims.email).toBe(PUSH_SA);
  });

  it.each([
    ['no token', async () => undefined],
    ['an expired token', async () => google.issuer.sign({ ...pushClaims(), iat: 1_000_000, exp: 1_000_600 })],
    [
      'another audience',
      async () => google.issuer.sign({ ...pushClaims(), aud: 'https://elsewhere.example' }),
    ],
    [
      'another service account',
      async () => google.issuer.sign({ ...pushClaims(), email: 'intruder@evil.iam.gserviceaccount.com' }),
    ],
    ['an unsigned token', async () => unsigned({ ...pushClaims(), iat: 1, exp: 9_999_999_999 })],
    ['a token of another key', async () => (await createTokenIssuer()).sign(pushClaims())],
  ])('refuses %s with 401 problem+json, before reading the body', async (_name, token) => {
    const count = seen.length;
    const bearer = await token();
    const res = await push(ECHO, {
      headers: {
        'content-type': 'application/json',
        ...(bearer && { authorization: `Bearer ${bearer}` }),
      },
      body: JSON.stringify(pubSubEnvelope(weftEvent)),
    });
    expect(res.status).toBe(401);
    expect(res.contentType).toBe('application/problem+json');
    expect(res.body).toMatchObject({ status: 401, title: expect.any(String) });
    expect(JSON.stringify(res.body)).not.toContain(bearer ?? '\u0000');
    expect(seen.length).toBe(count);
  });
});

describe('the shapes of a push', () => {
  it('reads an Eventarc binary-mode CloudEvent: the ce-* headers and the Pub/Sub envelope in the body', async () => {
    const request = await eventarcPubSubPush(google, weftEvent);
    expect((await push(ECHO, request)).status).toBe(200);
    const delivery = seen.at(-1)!;
    expect(delivery.event).toMatchObject({
      specversion: '1.0',
      type: PUBSUB_MESSAGE_PUBLISHED,
      source: `//pubsub.googleapis.com/${TOPIC}`,
      id: request.headers['ce-id'],
    });
    expect(unwrapPubSub(delivery)).toEqual(weftEvent);
  });

  it('reads a plain Pub/Sub push (no ce-* headers) and a structured-mode CloudEvent', async () => {
    const envelope = pubSubEnvelope(weftEvent);
    const headers = { authorization: await google.bearer(), 'content-type': 'application/json' };
    expect((await push(ECHO, { headers, body: JSON.stringify(envelope) })).status).toBe(200);
    expect(seen.at(-1)?.event).toBeUndefined();
    expect(unwrapPubSub(seen.at(-1)!)).toEqual(weftEvent);

    const structured = {
      specversion: '1.0',
      id: envelope.message.messageId,
      source: `//pubsub.googleapis.com/${TOPIC}`,
      type: PUBSUB_MESSAGE_PUBLISHED,
      datacontenttype: 'application/json',
      data: envelope,
    };
    const res = await push(ECHO, {
      headers: { ...headers, 'content-type': 'application/cloudevents+json; charset=utf-8' },
      body: JSON.stringify(structured),
    });
    expect(res.status).toBe(200);
    expect(seen.at(-1)?.event?.type).toBe(PUBSUB_MESSAGE_PUBLISHED);
    expect(unwrapPubSub(seen.at(-1)!)).toEqual(weftEvent);
  });

  it('takes a Scheduler job with no body', async () => {
    expect((await push(ECHO, await schedulerPush(google))).status).toBe(200);
    expect(seen.at(-1)).toMatchObject({ claims: { aud: PUSH_AUDIENCE } });
    expect(seen.at(-1)?.data).toBeUndefined();
  });

  it('refuses ce-* headers that are not a CloudEvent, and a body that is not JSON, with 400', async () => {
    const request = await eventarcPubSubPush(google, weftEvent);
    const { 'ce-id': _id, ...withoutId } = request.headers;
    const res = await push(ECHO, { headers: withoutId, body: request.body });
    expect(res).toMatchObject({ status: 400, body: { detail: expect.stringMatching(/ce-\* headers.*id/) } });
    const text = await push(ECHO, {
      headers: { authorization: await google.bearer(), 'content-type': 'application/octet-stream' },
      body: '{not json',
    });
    expect(text).toMatchObject({ status: 400, body: { detail: expect.stringMatching(/not JSON/) } });
  });

  it('unwrapPubSub refuses another event type, a message without data and data that is no weft CloudEvent', () => {
    const envelope = pubSubEnvelope(weftEvent);
    const attrs = { specversion: '1.0', id: '1', source: '//x', type: 'google.cloud.audit.log.v1.written' };
    expect(() => unwrapPubSub({ event: attrs, data: envelope })).toThrow(/takes Pub\/Sub messages/);
    expect(() => unwrapPubSub({ data: { message: {} } })).toThrow(/no data/);
    expect(() => unwrapPubSub({ data: pubSubEnvelope({ hello: 'world' }) })).toThrow(/CloudEvents 1.0/);
    expect(() => unwrapPubSub({ data: 'hello' })).toThrow(/not a Pub\/Sub envelope/);
  });
});

describe('readGcpPushConfig', () => {
  it('splits the audiences on commas and checks the service account', () => {
    expect(
      readGcpPushConfig({
        WEFT_PUSH_AUDIENCE: ' https://a.run.app , https://b.run.app,',
        WEFT_PUSH_SERVICE_ACCOUNT: PUSH_SA,
      }),
    ).toEqual({ audiences: ['https://a.run.app', 'https://b.run.app'], serviceAccount: PUSH_SA });
  });

  it('names every missing or malformed variable at once', () => {
    let error: unknown;
    try {
      gcpPushAuthenticator({ WEFT_PUSH_AUDIENCE: ' , ', WEFT_PUSH_SERVICE_ACCOUNT: 'not-an-email' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).variables).toEqual([
      'WEFT_PUSH_AUDIENCE',
      'WEFT_PUSH_SERVICE_ACCOUNT',
    ]);
    expect(() => readGcpPushConfig({})).toThrow(/WEFT_PUSH_AUDIENCE.*\n.*WEFT_PUSH_SERVICE_ACCOUNT/);
  });
});
