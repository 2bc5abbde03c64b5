/**
 * Pushes to a Google Cloud function as Eventarc, Pub/Sub and Cloud Scheduler
 * do: over real HTTP to whatever is registered under a name, served on
 * loopback by functions-framework's `getTestServer` (as `functions-framework
 * --target` would), with a Google-style OIDC token minted from a local key
 * set (test/support/token-issuer.ts) for the push audience and service account.
 *
 * Shapes, from Google's documentation:
 * - Eventarc's binary content mode, https://cloud.google.com/eventarc/docs/cloudevents
 *   ("HTTP request headers", "Pub/Sub"): `ce-specversion`, `ce-type`,
 *   `ce-source: //pubsub.googleapis.com/projects/P/topics/T`, `ce-id`,
 *   `ce-time`, the body the Pub/Sub envelope below;
 * - the Pub/Sub push envelope, https://cloud.google.com/pubsub/docs/push
 *   ("Receive messages"): `{ message: { attributes, data, messageId,
 *   message_id, publishTime, publish_time }, subscription }`.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import {
  createPushAuthenticator,
  googlePushAuth,
  type PushAuthenticator,
} from '../../../functions/control-plane/push-auth.js';
import { PUBSUB_MESSAGE_PUBLISHED } from '../../../functions/gcp/push-delivery.js';
import type { CloudEvent } from '../../../shared/events/cloud-event.js';
import { createTokenIssuer, type TokenIssuer } from '../../support/token-issuer.js';

export const PROJECT = 'weft-test';
export const PUSH_AUDIENCE = 'https://europe-west1-weft-test.cloudfunctions.net/weft';
export const PUSH_SA = `weft-push@${PROJECT}.iam.gserviceaccount.com`;
export const TOPIC = `projects/${PROJECT}/topics/weft-changes`;

/** What Google's token for a push carries. */
export const pushClaims = () => ({
  iss: 'https://accounts.google.com',
  aud: PUSH_AUDIENCE,
  azp: '107517467455664443765',
  email: PUSH_SA,
  email_verified: true,
  sub: '107517467455664443765',
});

/** A Google stand-in and the check of the pushes it signs. */
export interface PushIssuer {
  readonly issuer: TokenIssuer;
  readonly authenticate: PushAuthenticator;
  /** `Authorization` for a valid push token. */
  bearer(): Promise<string>;
}

export async function createPushIssuer(): Promise<PushIssuer> {
  const issuer = await createTokenIssuer();
  return {
    issuer,
    authenticate: createPushAuthenticator(
      googlePushAuth({ audiences: [PUSH_AUDIENCE], serviceAccount: PUSH_SA, jwks: issuer.jwks() }),
    ),
    bearer: async () => `Bearer ${await issuer.sign(pushClaims())}`,
  };
}

export interface PushResponse {
  readonly status: number;
  readonly contentType: string | null;
  readonly body: unknown;
}

/** POSTs to the function registered as `name`, on a server of its own, and reads the answer. */
export async function push(
  name: string,
  request: { readonly headers?: Record<string, string>; readonly body?: string; readonly path?: string },
): Promise<PushResponse> {
  const server: Server = getTestServer(name);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const response = await fetch(`http://127.0.0.1:${port}${request.path ?? '/'}`, {
      method: 'POST',
      headers: request.headers ?? {},
      ...(request.body !== undefined && { body: request.body }),
    });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON (functions-framework's own errors are HTML): kept as text.
    }
    return { status: response.status, contentType: response.headers.get('content-type'), body };
  } finally {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}

/** The Pub/Sub push envelope of a message whose data is `data` (weft's CloudEvent, as `PubSubEventBus` publishes it). */
export function pubSubEnvelope(data: unknown, subscription = 'weft-compile') {
  const id = String(Math.floor(Math.random() * 1e16));
  const publishTime = new Date().toISOString();
  const event = data as Partial<CloudEvent>;
  return {
    message: {
      attributes: {
        ...(event.type && { 'ce-type': event.type }),
        ...(event.source && { 'ce-source': event.source }),
        ...(event.id && { 'ce-id': event.id }),
      },
      data: Buffer.from(JSON.stringify(data)).toString('base64'),
      messageId: id,
      message_id: id,
      publishTime,
      publish_time: publishTime,
    },
    subscription: `projects/${PROJECT}/subscriptions/${subscription}`,
  };
}

/** Eventarc's binary-mode delivery of a Pub/Sub message on the changes topic. */
export async function eventarcPubSubPush(issuer: PushIssuer, data: unknown, subscription?: string) {
  const envelope = pubSubEnvelope(data, subscription);
  return {
    headers: {
      authorization: await issuer.bearer(),
      'content-type': 'application/json',
      'ce-specversion': '1.0',
      'ce-type': PUBSUB_MESSAGE_PUBLISHED,
      'ce-source': `//pubsub.googleapis.com/${TOPIC}`,
      'ce-id': envelope.message.messageId,
      'ce-time': envelope.message.publishTime,
      'user-agent': 'APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)',
    },
    body: JSON.stringify(envelope),
  };
}

/**
 * Cloud Scheduler's HTTP target with an OIDC token: a POST with the job's
 * body (none here) and `User-Agent: Google-Cloud-Scheduler`
 * (https://cloud.google.com/scheduler/docs/reference/rest/v1/projects.locations.jobs#HttpTarget).
 */
export async function schedulerPush(issuer: PushIssuer) {
  return { headers: { authorization: await issuer.bearer(), 'user-agent': 'Google-Cloud-Scheduler' } };
}
