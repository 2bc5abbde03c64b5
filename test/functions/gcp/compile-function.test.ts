import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { describe, expect, it } from 'vitest';
import type { ControlPlane } from '../../../functions/control-plane/compose-control-plane.js';
import {
  GCP_COMPILE_FUNCTION,
  GCP_SWEEP_FUNCTION,
  registerGcpCompile,
} from '../../../functions/gcp/compile-function.js';
import type { CloudEvent } from '../../../shared/events/cloud-event.js';
import { expectCompileAndSweep, testControlPlane } from '../../support/control-plane.js';

/**
 * POSTs a CloudEvent in binary mode to the named function, as Eventarc does,
 * on a loopback server that functions-framework's `getTestServer` serves.
 */
async function deliver(name: string, type: string, data: unknown): Promise<number> {
  const server: Server = getTestServer(name);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const response = await fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'ce-specversion': '1.0',
        'ce-id': crypto.randomUUID(),
        'ce-source': '//pubsub.googleapis.com/projects/weft/topics/weft-changes',
        'ce-type': type,
      },
      body: JSON.stringify(data),
    });
    await response.text();
    return response.status;
  } finally {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}

const PUBLISHED = 'google.cloud.pubsub.topic.v1.messagePublished';
const pubsub = (event: unknown) => ({
  message: { data: Buffer.from(JSON.stringify(event)).toString('base64'), messageId: '1' },
  subscription: 'projects/weft/subscriptions/weft-compile',
});

async function registered(): Promise<ControlPlane> {
  const { plane } = await testControlPlane('gcp');
  registerGcpCompile(() => plane);
  return plane;
}

describe('Google Cloud compile and sweep functions (functions-framework CloudEvents from Pub/Sub)', () => {
  it('sweep publishes the stored writes; compile signs and stores every touched snapshot, once', async () => {
    await expectCompileAndSweep(
      {
        compile: async (plane: ControlPlane, event: CloudEvent) => {
          registerGcpCompile(() => plane);
          expect(await deliver(GCP_COMPILE_FUNCTION, PUBLISHED, pubsub(event))).toBe(204);
          return undefined;
        },
        sweep: async (plane: ControlPlane) => {
          registerGcpCompile(() => plane);
          expect(await deliver(GCP_SWEEP_FUNCTION, PUBLISHED, pubsub({ tick: true }))).toBe(204);
        },
      },
      'gcp',
    );
  });

  it('answers 500 for a message that holds no weft CloudEvent, so Pub/Sub redelivers and dead-letters it', async () => {
    await registered();
    expect(await deliver(GCP_COMPILE_FUNCTION, PUBLISHED, pubsub({ hello: 'world' }))).toBe(500);
    expect(await deliver(GCP_COMPILE_FUNCTION, PUBLISHED, { message: {} })).toBe(500);
  });
});
