/**
 * The `compile` and `sweep` functions on Google Cloud, over real HTTP through
 * functions-framework, with the pushes their triggers send: Eventarc's
 * binary-mode `messagePublished` CloudEvent around a Pub/Sub envelope (whose
 * data is weft's CloudEvent, as `PubSubEventBus` publishes it) for compile,
 * a Cloud Scheduler job with an OIDC token for sweep (shapes and sources in
 * push-test-server.ts). The plane is in memory (test/support/control-plane.ts).
 */
import { http } from '@google-cloud/functions-framework';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ControlPlane } from '../../../functions/control-plane/compose-control-plane.js';
import { createGcpCompileFunction, GCP_COMPILE_FUNCTION } from '../../../functions/gcp/compile-function.js';
import { createGcpSweepFunction, GCP_SWEEP_FUNCTION } from '../../../functions/gcp/sweep-function.js';
import type { CloudEvent } from '../../../shared/events/cloud-event.js';
import { expectCompileAndSweep, testControlPlane } from '../../support/control-plane.js';
import {
  createPushIssuer,
  eventarcPubSubPush,
  type PushIssuer,
  push,
  schedulerPush,
} from './push-test-server.js';

let google: PushIssuer;
beforeAll(async () => {
  google = await createPushIssuer();
});

function register(plane: ControlPlane): void {
  http(
    GCP_COMPILE_FUNCTION,
    createGcpCompileFunction(
      () => plane,
      () => google.authenticate,
    ),
  );
  http(
    GCP_SWEEP_FUNCTION,
    createGcpSweepFunction(
      async () => plane,
      () => google.authenticate,
    ),
  );
}

describe('Google Cloud compile and sweep functions (Eventarc and Cloud Scheduler pushes)', () => {
  it('sweep publishes the stored writes; compile signs and stores every touched snapshot, once', async () => {
    await expectCompileAndSweep(
      {
        compile: async (plane: ControlPlane, event: CloudEvent) => {
          register(plane);
          const res = await push(GCP_COMPILE_FUNCTION, await eventarcPubSubPush(google, event));
          expect(res.status).toBe(200);
          return (res.body as { written: string[] }).written;
        },
        sweep: async (plane: ControlPlane) => {
          register(plane);
          const res = await push(GCP_SWEEP_FUNCTION, await schedulerPush(google));
          expect(res).toMatchObject({ status: 200, body: { published: expect.any(Number), peers: [] } });
        },
      },
      'gcp',
    );
  });

  it('refuses a push without a valid token with 401 and compiles nothing', async () => {
    const { plane, blobs, published } = await testControlPlane('gcp');
    register(plane);
    await plane.sweep();
    const { authorization: _token, ...unsigned } = (await eventarcPubSubPush(google, published[0])).headers;
    const request = await eventarcPubSubPush(google, published[0]);
    expect((await push(GCP_COMPILE_FUNCTION, { headers: unsigned, body: request.body })).status).toBe(401);
    expect((await push(GCP_SWEEP_FUNCTION, {})).status).toBe(401);
    expect(await blobs.list('snapshots/')).toEqual([]);
  });

  it('fails a message that holds no weft CloudEvent (4xx), so Pub/Sub redelivers and dead-letters it', async () => {
    const { plane } = await testControlPlane('gcp');
    register(plane);
    const res = await push(GCP_COMPILE_FUNCTION, await eventarcPubSubPush(google, { hello: 'world' }));
    expect(res).toMatchObject({ status: 422, contentType: 'application/problem+json' });
    const empty = await eventarcPubSubPush(google, {});
    const noData = { ...empty, body: JSON.stringify({ message: { messageId: '1' }, subscription: 's' }) };
    expect((await push(GCP_COMPILE_FUNCTION, noData)).status).toBe(400);
  });
});
