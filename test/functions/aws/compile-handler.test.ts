import type { Context, EventBridgeEvent, ScheduledEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createAwsCompileHandler, createAwsSweepHandler } from '../../../functions/aws/compile-handler.js';
import type { CloudEvent } from '../../../shared/events/cloud-event.js';
import { expectCompileAndSweep, testControlPlane } from '../../support/control-plane.js';

const context = { functionName: 'weft-compile', awsRequestId: 'req-1' } as Context;

/** The event an EventBridge rule hands a Lambda target, carrying a weft CloudEvent as `detail`. */
function eventBridge(event: CloudEvent): EventBridgeEvent<string, unknown> {
  return {
    version: '0',
    id: crypto.randomUUID(),
    'detail-type': event.type,
    source: 'weft',
    account: '123456789012',
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: [],
    detail: event,
  };
}

const scheduled = { 'detail-type': 'Scheduled Event', source: 'aws.scheduler' } as ScheduledEvent;

describe('AWS compile and sweep handlers (middy, EventBridge events)', () => {
  it('sweep publishes the stored writes; compile signs and stores every touched snapshot, once', async () => {
    await expectCompileAndSweep(
      {
        compile: async (plane, event) =>
          (await createAwsCompileHandler(() => plane)(eventBridge(event), context)).written,
        sweep: async (plane) => {
          await createAwsSweepHandler(() => plane)(scheduled, context);
        },
      },
      'aws',
    );
  });

  it('answers how many events the sweep published', async () => {
    const { plane } = await testControlPlane('aws');
    expect(await createAwsSweepHandler(() => plane)(scheduled, context)).toEqual({
      published: 10,
      peers: [],
    });
  });

  it('throws on an event whose detail is not a CloudEvent, so EventBridge retries and dead-letters it', async () => {
    const { plane } = await testControlPlane('aws');
    const bad = { ...eventBridge({} as CloudEvent), detail: { hello: 'world' } };
    await expect(createAwsCompileHandler(() => plane)(bad, context)).rejects.toThrow();
  });
});
