/**
 * EventBridgeEventBus on moto. moto's EventBridge delivers only to SQS
 * queues, CloudWatch Logs and other buses (any other target makes PutEvents
 * fail), so the contract reads deliveries from an SQS queue that a rule on
 * the bus targets: each message body is the EventBridge event, its `detail`
 * the CloudEvent. moto never fails single entries (FailedEntryCount) and
 * accepts entries past 256 KB, so a middleware on the client injects
 * entry failures, and the size limit is checked without moto.
 */
import {
  CreateEventBusCommand,
  EventBridgeClient,
  type PutEventsCommandInput,
  type PutEventsCommandOutput,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBridgeEventBus } from '../../../functions/aws/eventbridge-event-bus.js';
import { WEFT_EVENT_SOURCE } from '../../../infra/aws/functions.js';
import type { CloudEvent } from '../../../shared/events/cloud-event.js';
import { PayloadTooLargeError, UnavailableError, ValidationError } from '../../../shared/model/errors.js';
import { CONTRACT_EVENT_TYPES, describeEventBusContract } from '../../contract/event-bus.js';
import { type Moto, startMoto } from '../../support/moto.js';

let moto: Moto;
let eventBridge: EventBridgeClient;
let sqs: SQSClient;
let buses = 0;

beforeAll(async () => {
  moto = await startMoto();
  eventBridge = new EventBridgeClient(moto.clientConfig);
  sqs = new SQSClient(moto.clientConfig);
});
afterAll(async () => {
  eventBridge?.destroy();
  sqs?.destroy();
  await moto?.stop();
});

/** A bus of its own, with a rule on weft's source whose target is a queue; what the queue holds was delivered. */
async function freshBus(): Promise<{
  eventBusName: string;
  delivered(count: number): Promise<CloudEvent[]>;
}> {
  const eventBusName = `weft-${++buses}`;
  await eventBridge.send(new CreateEventBusCommand({ Name: eventBusName }));
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `${eventBusName}-deliveries` }));
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  await eventBridge.send(
    new PutRuleCommand({
      Name: 'weft-events',
      EventBusName: eventBusName,
      EventPattern: JSON.stringify({ source: [WEFT_EVENT_SOURCE], 'detail-type': [...CONTRACT_EVENT_TYPES] }),
    }),
  );
  await eventBridge.send(
    new PutTargetsCommand({
      Rule: 'weft-events',
      EventBusName: eventBusName,
      Targets: [{ Id: 'deliveries', Arn: Attributes!.QueueArn! }],
    }),
  );
  const seen: CloudEvent[] = [];
  return {
    eventBusName,
    async delivered(count) {
      const deadline = Date.now() + 5000;
      while (new Set(seen.map((e) => e.id)).size < count && Date.now() < deadline) {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
        );
        if (Messages.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
        for (const m of Messages) {
          const delivered = JSON.parse(m.Body!) as {
            source: string;
            'detail-type': string;
            detail: CloudEvent;
          };
          expect(delivered.source).toBe(WEFT_EVENT_SOURCE);
          expect(delivered['detail-type']).toBe(delivered.detail.type);
          seen.push(delivered.detail);
        }
        if (Messages.length > 0) {
          await sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl,
              Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
            }),
          );
        }
      }
      return [...seen];
    },
  };
}

describeEventBusContract('EventBridgeEventBus on moto (delivered to an SQS rule target)', async () => {
  const { eventBusName, delivered } = await freshBus();
  return {
    bus: new EventBridgeEventBus({ client: eventBridge, busName: eventBusName }),
    delivered,
    close: async () => {},
  };
});

/**
 * A client whose first `failing` PutEvents calls lose every other entry
 * (moto never fails one, real EventBridge does under throttling), and the
 * entry counts of every call. `offline`: PutEvents succeeds without moto
 * (whose SQS takes ~0.4 s per 100 KB delivered), for tests of what is sent.
 */
function flakyClient(failing: number, offline = false): { client: EventBridgeClient; calls: number[] } {
  const client = new EventBridgeClient(moto.clientConfig);
  const calls: number[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'PutEventsCommand') return next(args);
      const input = args.input as PutEventsCommandInput;
      const entries = input.Entries ?? [];
      calls.push(entries.length);
      if (offline)
        return {
          response: {},
          output: { $metadata: {}, FailedEntryCount: 0, Entries: entries.map(() => ({ EventId: 'x' })) },
        };
      if (calls.length > failing) return next(args);
      const result = await next({ ...args, input: { ...input, Entries: entries.filter((_, i) => i % 2) } });
      const output = result.output as PutEventsCommandOutput;
      let k = 0;
      const merged = entries.map((_, i) =>
        i % 2 ? output.Entries![k++]! : { ErrorCode: 'ThrottlingException', ErrorMessage: 'injected' },
      );
      const failed = merged.filter((e) => e.ErrorCode).length;
      return { ...result, output: { ...output, FailedEntryCount: failed, Entries: merged } };
    },
    { step: 'initialize' },
  );
  return { client, calls };
}

const event = (id: string, data: unknown = { id }): CloudEvent => ({
  specversion: '1.0',
  id,
  source: '/weft/aws',
  type: CONTRACT_EVENT_TYPES[0],
  data,
});

describe('EventBridgeEventBus', () => {
  it('sends the entries EventBridge failed again, with backoff, until all are on the bus', async () => {
    const { eventBusName, delivered } = await freshBus();
    const { client, calls } = flakyClient(2);
    const bus = new EventBridgeEventBus({
      client,
      busName: eventBusName,
      retryDelay: { baseMs: 5, capMs: 20 },
    });
    const events = Array.from({ length: 8 }, (_, i) => event(`e${i}`));
    await bus.publish(events);
    // 8 entries, half failed: 4 again, half failed: 2 again, all through.
    expect(calls).toStrictEqual([8, 4, 2]);
    const ids = [...new Set((await delivered(8)).map((e) => e.id))].sort();
    expect(ids).toStrictEqual(events.map((e) => e.id).sort());
    client.destroy();
  });

  it('gives up after maxAttempts with UnavailableError naming what was refused', async () => {
    const { eventBusName } = await freshBus();
    const { client, calls } = flakyClient(Number.POSITIVE_INFINITY);
    const bus = new EventBridgeEventBus({
      client,
      busName: eventBusName,
      maxAttempts: 3,
      retryDelay: { baseMs: 1, capMs: 2 },
    });
    const error = await bus
      .publish([event('a'), event('b'), event('c'), event('d')])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toMatch(/refused 1 of 1 events 3 times \(ThrottlingException/);
    expect(calls).toStrictEqual([4, 2, 1]);
    client.destroy();
  });

  it('chunks by ten entries and by 256 KB', async () => {
    const { eventBusName } = await freshBus();
    const { client, calls } = flakyClient(0, true);
    const bus = new EventBridgeEventBus({ client, busName: eventBusName });
    await bus.publish(Array.from({ length: 23 }, (_, i) => event(`s${i}`)));
    expect(calls).toStrictEqual([10, 10, 3]);
    calls.length = 0;
    // 60 KB each: four fit in 256 KB, the fifth does not.
    await bus.publish(Array.from({ length: 6 }, (_, i) => event(`l${i}`, 'x'.repeat(60_000))));
    expect(calls).toStrictEqual([4, 2]);
    client.destroy();
  });

  it('refuses an event too big for EventBridge before publishing anything', async () => {
    const { eventBusName } = await freshBus();
    const { client, calls } = flakyClient(0);
    const bus = new EventBridgeEventBus({ client, busName: eventBusName });
    const error = await bus
      .publish([event('ok'), event('big', 'x'.repeat(262_000))])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect((error as Error).message).toMatch(/event 1 \(.* big\) .*at most 262144/);
    expect(calls).toStrictEqual([]);
    client.destroy();
  });

  it('names the offending event in a ValidationError', async () => {
    const bus = new EventBridgeEventBus({ client: eventBridge, busName: 'unused' });
    const error = await bus
      .publish([event('ok'), { ...event('bad'), source: 'a b' }])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe('/1/source');
  });

  it('reports a missing bus as UnavailableError', async () => {
    const bus = new EventBridgeEventBus({ client: eventBridge, busName: 'weft-no-such-bus' });
    await expect(bus.publish([event('x')])).rejects.toBeInstanceOf(UnavailableError);
  });

  it('cannot subscribe in process, and says where delivery happens instead', () => {
    const bus = new EventBridgeEventBus({ client: eventBridge, busName: 'weft' });
    expect(() => bus.subscribe('dev.weft.resource.changed', async () => {})).toThrow(
      /EventBridge rule on detail-type dev.weft.resource.changed delivers it to a Lambda/,
    );
    expect(() => bus.subscribe('x', async () => {})).toThrow(TypeError);
  });
});
