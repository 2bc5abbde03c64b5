/**
 * The `compile` and `sweep` functions on Azure: the webhook takes weft's
 * CloudEvent in structured mode (`application/cloudevents+json`, one event
 * per delivery) with an Entra ID token of Event Grid's (minted from a local
 * key set: webhook-test-server.ts), the timer fires the sweep. Over the
 * in-memory plane (test/support/control-plane.ts), then end to end: the
 * Azure composition publishes through `EventGridEventBus` to a fake Event
 * Grid topic (test/support/fake-event-grid.ts: nothing of Event Grid runs
 * outside Azure), which validates the webhook with the OPTIONS handshake and
 * pushes each event to it over HTTP, as a subscription does.
 */
import { TableClient } from '@azure/data-tables';
import type { Timer } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AZURE_COMPILE_ROUTE,
  createAzureCompileHandler,
  createAzureSweepHandler,
} from '../../../functions/azure/compile-function.js';
import { composeAzureControlPlane } from '../../../functions/azure/composition.js';
import type { ControlPlane } from '../../../functions/control-plane/compose-control-plane.js';
import { snapshotBlobKey } from '../../../shared/distribution/snapshot-blobs.js';
import type { CloudEvent } from '../../../shared/events/cloud-event.js';
import { MeshCa } from '../../../shared/identity/ca.js';
import { MemoryCaStore } from '../../../shared/identity/ca-store.js';
import { MemoryKeyRing } from '../../../shared/identity/memory-key-ring.js';
import { MemoryBlobStore } from '../../../shared/storage/memory-blob-store.js';
import { MemoryStateStore } from '../../../shared/storage/memory-state-store.js';
import { createTestOperators } from '../../support/api.js';
import { expectCompileAndSweep, MESH_GATEWAYS, testControlPlane } from '../../support/control-plane.js';
import { meshDocs, writer } from '../../support/distribution.js';
import { type FakeEventGrid, startFakeEventGrid } from '../../support/fake-event-grid.js';
import { context, createEntraIssuer, deliver, type EntraIssuer, serveAzure } from './webhook-test-server.js';

const SILENT = { info() {}, warn() {}, error() {} };
const timer: Timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: {} as never };
/** Never reached: the tables the composition wires for identity, which compiling does not touch. */
const UNREACHED =
  'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://127.0.0.1:1/devstoreaccount1;';

let entra: EntraIssuer;
beforeAll(async () => {
  entra = await createEntraIssuer();
});

const compileHandler = (plane: ControlPlane) =>
  createAzureCompileHandler(
    () => plane,
    () => entra.authenticate,
    SILENT,
  );

describe('Azure compile and sweep functions (Event Grid webhook, timer)', () => {
  it('sweep publishes the stored writes; compile signs and stores every touched snapshot, once', async () => {
    await expectCompileAndSweep(
      {
        compile: async (plane, event: CloudEvent) => {
          const res = await deliver(compileHandler(plane), {
            headers: { authorization: await entra.bearer() },
            body: event,
          });
          expect(res.status, res.text).toBe(200);
          return (res.body as { written: string[] }).written;
        },
        sweep: async (plane) => {
          const outcome = await createAzureSweepHandler(() => plane)(timer, context('weftSweep'));
          expect(outcome).toMatchObject({ published: expect.any(Number), peers: [] });
        },
      },
      'azure',
    );
  });

  it('refuses a delivery without Event Grid’s token with 401 and compiles nothing', async () => {
    const { plane, blobs, published } = await testControlPlane('azure');
    await plane.sweep();
    const res = await deliver(compileHandler(plane), { body: published[0] });
    expect(res.status).toBe(401);
    expect(await blobs.list('snapshots/')).toEqual([]);
  });

  it('fails an event that is not a weft CloudEvent (422), so Event Grid retries and dead-letters it', async () => {
    const { plane } = await testControlPlane('azure');
    const res = await deliver(compileHandler(plane), {
      headers: { authorization: await entra.bearer() },
      body: { id: '1', eventType: 'x', data: {} },
    });
    expect(res.status).toBe(422);
    expect(res.headers['content-type']).toBe('application/problem+json');
  });
});

describe('Azure compile end to end: EventGridEventBus → Event Grid (fake) → the webhook', () => {
  let grid: FakeEventGrid;
  let webhook: Awaited<ReturnType<typeof serveAzure>>;
  let plane: ControlPlane;
  const store = new MemoryStateStore();
  const blobs = new MemoryBlobStore();

  beforeAll(async () => {
    grid = await startFakeEventGrid();
    const { env } = await createTestOperators();
    const ca = await MeshCa.open({
      trustDomain: 'acme.test',
      store: new MemoryCaStore(),
      keys: new MemoryKeyRing(),
      providers: ['azure'],
    });
    plane = await composeAzureControlPlane(env, {
      createStore: () => store,
      tables: (name) => TableClient.fromConnectionString(UNREACHED, name),
      blobs,
      eventGrid: grid.client(),
      openCa: async () => ca,
      logger: SILENT,
    });
    webhook = await serveAzure({ [AZURE_COMPILE_ROUTE]: compileHandler(plane) });
  });
  afterAll(async () => {
    await grid?.close();
    await webhook?.close();
    await plane?.close();
  });

  it('validates the webhook, then compiles every snapshot from the events the topic pushes', async () => {
    const subscription = await grid.subscribe(`${webhook.url}/api/${AZURE_COMPILE_ROUTE}`, {
      headers: { authorization: await entra.bearer() },
      includedEventTypes: ['dev.weft.resource.changed'],
    });
    await writer(store, 'azure').apply(meshDocs());
    expect(await plane.sweep()).toBe(10);
    await grid.idle();
    expect(grid.events).toHaveLength(10);
    expect(subscription.deliveries.map((d) => d.outcome)).toEqual(Array(10).fill('delivered'));
    expect(await blobs.list('snapshots/')).toEqual(MESH_GATEWAYS.map(snapshotBlobKey));
  });
});
