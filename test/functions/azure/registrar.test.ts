/**
 * The registrar and reconcile functions on Azure, composed as deployed
 * (`composeAzureRegistrar`) over a control plane in memory
 * (../../shared/registration/registration-plane.ts) and an Azure Resource
 * Manager stand-in (test/support/fake-arm.ts: an HTTP server at the REST
 * seam the reader calls; nothing of ARM runs here), the events delivered to
 * the webhook with an Entra ID token of Event Grid's minted from a local key
 * set (webhook-test-server.ts).
 *
 * The fixtures (fixtures/*.json) take their shape from Microsoft's
 * documented samples in "Azure resource group as an Event Grid source"
 * (learn.microsoft.com/azure/event-grid/event-schema-resource-groups;
 * MicrosoftDocs/azure-docs articles/event-grid/event-schema-resource-groups.md),
 * with the placeholders filled in and the claims cut to a few:
 * `resource-delete-success-vm.json` is the `ResourceDeleteSuccess` sample in
 * the Event Grid schema (an array) about a VM; `resource-write-success-vm.json`
 * and `resource-write-success-tags.json` are the `ResourceWriteSuccess` sample
 * in the CloudEvents 1.0 schema the deployment subscribes with, mapped as
 * Event Grid maps the two schemas (`topic` → `source`, `eventType` → `type`,
 * `eventTime` → `time`); for `Microsoft.Resources/tags/write` the
 * `resourceUri` and `subject` are the tags scope,
 * `<resource id>/providers/Microsoft.Resources/tags/default`. Each test
 * swaps in the fake's subscription, resource group and VM.
 */
import { readFileSync } from 'node:fs';
import type { Timer } from '@azure/functions';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ArmCloudResources,
  azureVmId,
  NETWORK_API_VERSION,
} from '../../../functions/azure/arm-cloud-resources.js';
import {
  composeAzureRegistrar,
  readAzureRegistrarConfig,
} from '../../../functions/azure/registrar-composition.js';
import {
  createAzureReconcileHandler,
  createAzureRegistrarHandler,
  vmIdOfEvent,
} from '../../../functions/azure/registrar-function.js';
import { REGISTERED_BY, RESOURCE_ANNOTATION } from '../../../shared/registration/observed-resource.js';
import { readRegistrationStatus } from '../../../shared/registration/registration-status.js';
import { registrationPlane } from '../../shared/registration/registration-plane.js';
import {
  FAKE_RESOURCE_GROUP,
  FAKE_SUBSCRIPTION,
  type FakeArm,
  startFakeArm,
} from '../../support/fake-arm.js';
import { context, createEntraIssuer, deliver, type EntraIssuer } from './webhook-test-server.js';

const VM = 'vm-orders-1';
const WORKLOAD = 'azure-vm-vm-orders-1';
const WEFT = { 'weft:service': 'orders', 'weft:namespace': 'shop', 'weft:port': '8080' };
const SILENT = { info() {}, warn() {}, error() {} };
const timer: Timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: {} as never };

/** A fixture about `vm` in the fake's subscription and resource group. */
function fixture(name: string, vm = VM): unknown {
  const text = readFileSync(new URL(`fixtures/${name}.json`, import.meta.url), 'utf8')
    .replaceAll('00000000-1111-2222-3333-444444444444', FAKE_SUBSCRIPTION)
    .replaceAll('rg-weft', FAKE_RESOURCE_GROUP)
    .replaceAll(VM, vm);
  return JSON.parse(text);
}
const tagsWrite = (vm?: string) => fixture('resource-write-success-tags', vm);
const vmWrite = (vm?: string) => fixture('resource-write-success-vm', vm);
const vmDelete = (vm?: string) => fixture('resource-delete-success-vm', vm);

let entra: EntraIssuer;
let arm: FakeArm;
beforeAll(async () => {
  entra = await createEntraIssuer();
});
beforeEach(async () => {
  arm = await startFakeArm();
});
afterEach(() => arm.close());

async function setup() {
  const { plane, blobs } = await registrationPlane({ provider: 'azure' });
  const deps = await composeAzureRegistrar(
    {
      WEFT_AZURE_SUBSCRIPTION_ID: FAKE_SUBSCRIPTION,
      WEFT_AZURE_RESOURCE_GROUP: FAKE_RESOURCE_GROUP,
      WEFT_DEFAULT_ENVIRONMENT: 'azure',
    },
    { plane, blobs, credential: arm.credential, armEndpoint: arm.endpoint, logger: SILENT },
  );
  const handler = createAzureRegistrarHandler(deps, () => entra.authenticate, SILENT);
  const send = async (event: unknown) =>
    deliver(handler, {
      path: '/api/events/registrar',
      headers: {
        authorization: await entra.bearer(),
        'content-type': Array.isArray(event) ? 'application/json' : 'application/cloudevents+json',
      },
      body: event,
    });
  const reconcile = async () =>
    createAzureReconcileHandler(async () => deps)(timer, context('weftReconcile'));
  const workload = async (name = WORKLOAD, namespace = 'shop') => {
    const doc = (await plane.resources.get({ kind: 'Workload', namespace, name }))?.resource;
    return doc?.kind === 'Workload' ? doc : undefined;
  };
  return { plane, blobs, handler, send, reconcile, workload };
}

describe('Azure registrar (Event Grid resource events, ARM stand-in)', () => {
  it('registers a VM from a tags write with its real private IP; a change updates it, removing the tags deletes it', async () => {
    const { send, workload } = await setup();
    const id = arm.putVm(VM, { tags: { env: 'prod', ...WEFT }, privateIp: '10.1.0.17' });
    const res = await send(tagsWrite());
    expect(res).toMatchObject({
      status: 200,
      body: { resources: [id.toLowerCase()], counts: { registered: 1 } },
    });
    const registered = await workload();
    expect(registered?.spec).toEqual({
      service: 'orders',
      environment: 'azure',
      address: '10.1.0.17:8080',
      sourceAddresses: ['10.1.0.17'],
    });
    expect(registered?.metadata).toMatchObject({
      labels: { [REGISTERED_BY]: 'azure-tags' },
      annotations: { [RESOURCE_ANNOTATION]: id.toLowerCase() },
    });

    arm.updateVm(VM, { tags: { ...WEFT, 'weft:port': '9090', 'weft:weight': '5' } });
    expect((await send(tagsWrite())).body).toMatchObject({ counts: { updated: 1 } });
    expect((await workload())?.spec).toMatchObject({ address: '10.1.0.17:9090', weight: 5 });
    // Delivered twice: nothing new to write.
    expect((await send(tagsWrite())).body).toMatchObject({ counts: { unchanged: 1 } });

    arm.updateVm(VM, { tags: { env: 'prod' } });
    expect((await send(tagsWrite())).body).toMatchObject({ counts: { removed: 1 } });
    expect(await workload()).toBeUndefined();
  });

  it('a VM write registers once the VM runs, its power actions follow it, the delete (Event Grid schema) removes it', async () => {
    const { send, workload } = await setup();
    arm.putVm(VM, { tags: WEFT, power: 'starting', provisioningState: 'Creating' });
    expect((await send(vmWrite())).body).toMatchObject({ counts: { ignored: 1 } });
    expect(await workload()).toBeUndefined();
    arm.updateVm(VM, { power: 'running', provisioningState: 'Succeeded' });
    expect((await send(vmWrite())).body).toMatchObject({ counts: { registered: 1 } });
    arm.updateVm(VM, { power: 'deallocated' });
    expect((await send(vmWrite())).body).toMatchObject({ counts: { removed: 1 } });
    arm.updateVm(VM, { power: 'running' });
    expect((await send(vmWrite())).body).toMatchObject({ counts: { registered: 1 } });

    // Deallocating is an action, not a write: its ResourceActionSuccess removes the Workload at once.
    arm.updateVm(VM, { power: 'deallocated' });
    const deallocate = {
      ...(vmWrite() as { data: object }),
      type: 'Microsoft.Resources.ResourceActionSuccess',
      data: {
        ...(vmWrite() as { data: object }).data,
        operationName: 'Microsoft.Compute/virtualMachines/deallocate/action',
      },
    };
    expect((await send(deallocate)).body).toMatchObject({ counts: { removed: 1 } });
    arm.updateVm(VM, { power: 'running' });
    expect(
      (
        await send({
          ...deallocate,
          data: { ...deallocate.data, operationName: 'Microsoft.Compute/virtualMachines/start/action' },
        })
      ).body,
    ).toMatchObject({ counts: { registered: 1 } });

    arm.deleteVm(VM);
    const res = await send(vmDelete());
    expect(res).toMatchObject({ status: 200, body: { counts: { removed: 1 } } });
    expect(await workload()).toBeUndefined();
  });

  it('counts bad tags in the status document and answers 200 (a retry would not fix them)', async () => {
    const { send, blobs, workload } = await setup();
    const id = arm.putVm(VM, { tags: { ...WEFT, 'weft:port': '70000' } });
    expect(await send(tagsWrite())).toMatchObject({ status: 200, body: { counts: { rejected: 1 } } });
    arm.putVm('vm-orders-2', { tags: { ...WEFT, 'weft:namespace': 'Shop_2' } });
    expect((await send(tagsWrite('vm-orders-2'))).body).toMatchObject({ counts: { rejected: 1 } });
    expect(await workload()).toBeUndefined();
    const status = await readRegistrationStatus(blobs, 'azure');
    expect(status?.totals).toMatchObject({ rejected: 2 });
    expect(status?.recent.map((p) => [p.resource, p.reason])).toEqual([
      [
        expect.stringContaining('/virtualmachines/vm-orders-2'),
        expect.stringContaining('weft:namespace="Shop_2"'),
      ],
      [id.toLowerCase(), expect.stringContaining('weft:port="70000"')],
    ]);
  });

  it('leaves alone a Workload of that name it did not make, or made for another VM (conflicts, reported)', async () => {
    const { send, plane, workload, blobs } = await setup();
    arm.putVm(VM, { tags: WEFT });
    await plane.resources.put({
      apiVersion: 'weft.dev/v1',
      kind: 'Workload',
      metadata: { name: WORKLOAD, namespace: 'shop' },
      spec: { service: 'orders', environment: 'azure', address: '10.9.9.9:80' },
    });
    expect((await send(tagsWrite())).body).toMatchObject({ counts: { conflict: 1 } });
    expect((await workload())?.spec.address).toBe('10.9.9.9:80');

    // The registrar's own label, but another VM's id (same name, another resource group).
    const other = `/subscriptions/${FAKE_SUBSCRIPTION}/resourcegroups/rg-other/providers/microsoft.compute/virtualmachines/${VM}`;
    await plane.resources.put({
      apiVersion: 'weft.dev/v1',
      kind: 'Workload',
      metadata: {
        name: WORKLOAD,
        namespace: 'shop',
        labels: { [REGISTERED_BY]: 'azure-tags' },
        annotations: { [RESOURCE_ANNOTATION]: other },
      },
      spec: { service: 'orders', environment: 'azure', address: '10.9.9.9:80' },
    });
    expect((await send(vmWrite())).body).toMatchObject({ counts: { conflict: 1 } });
    expect((await workload())?.spec.address).toBe('10.9.9.9:80');
    expect((await readRegistrationStatus(blobs, 'azure'))?.recent[0]?.reason).toMatch(
      /registered for another resource/,
    );
  });

  it('skips events about no VM, and refuses an unsigned delivery', async () => {
    const { send, handler } = await setup();
    const nicTags = JSON.parse(
      JSON.stringify(tagsWrite()).replaceAll(
        'Microsoft.Compute/virtualMachines/vm-orders-1',
        'Microsoft.Network/networkInterfaces/nic-1',
      ),
    );
    expect(await send(nicTags)).toMatchObject({ status: 200, body: { resources: [], counts: {} } });
    const storage = {
      ...(vmWrite() as object),
      data: {
        ...(vmWrite() as { data: object }).data,
        operationName: 'Microsoft.Storage/storageAccounts/write',
      },
    };
    expect((await send(storage)).body).toEqual({ resources: [], counts: {} });
    const failure = { ...(vmWrite() as object), type: 'Microsoft.Resources.ResourceWriteFailure' };
    expect((await send(failure)).body).toEqual({ resources: [], counts: {} });
    expect((await deliver(handler, { body: tagsWrite() })).status).toBe(401);
    expect(arm.requests).toEqual([]);
  });

  it('fails the delivery (503) when ARM cannot be read, so Event Grid retries it', async () => {
    const { send } = await setup();
    arm.putVm(VM, { tags: WEFT });
    arm.fail(403);
    const res = await send(tagsWrite());
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect((res.body as { detail: string }).detail).toMatch(/HTTP 403 \(Injected.*Reader role/);
  });

  it('reconcile lists the tagged VMs across pages (skipping tagged NICs), the same Workloads as the events, and removes what is gone', async () => {
    const { reconcile, send, workload, blobs } = await setup();
    const a = arm.putVm(VM, { tags: WEFT, privateIp: '10.1.0.21' });
    arm.putVm('vm-orders-2', { tags: WEFT, privateIp: '10.1.0.22' });
    arm.putVm('vm-untagged', { tags: { env: 'prod' } });
    const outcome = await reconcile();
    expect(outcome.counts).toMatchObject({ registered: 2 });
    expect((await workload())?.spec.address).toBe('10.1.0.21:8080');
    expect((await workload('azure-vm-vm-orders-2'))?.spec.address).toBe('10.1.0.22:8080');
    const lists = arm.requests.filter((r) => r.path.includes('/resources?'));
    expect(lists.length).toBeGreaterThan(1);
    expect(new URL(lists[0]!.path, 'http://x').searchParams.get('$filter')).toBe("tagName eq 'weft:service'");
    expect((await readRegistrationStatus(blobs, 'azure'))?.lastReconcile).toMatchObject({
      resources: 2,
      puts: 2,
    });

    // The listing wrote the resource group in capitals, the event in its own case: one VM, one Workload.
    expect((await send(tagsWrite())).body).toMatchObject({
      resources: [a.toLowerCase()],
      counts: { unchanged: 1 },
    });

    // Deleted with its event lost: the next reconcile reads it again (a 404) and removes its Workload.
    arm.deleteVm('vm-orders-2');
    expect((await reconcile()).counts).toMatchObject({ removed: 1, unchanged: 1 });
    expect(await workload('azure-vm-vm-orders-2')).toBeUndefined();
  });
});

describe('ArmCloudResources', () => {
  const reader = (credential = arm.credential) =>
    new ArmCloudResources({
      subscriptionId: FAKE_SUBSCRIPTION,
      resourceGroup: FAKE_RESOURCE_GROUP,
      credential,
      armEndpoint: arm.endpoint,
    });

  it('maps power states, reads the primary NIC only for a running VM, and asks for an ARM token', async () => {
    const powers = ['running', 'starting', 'stopping', 'stopped', 'deallocating', 'deallocated'];
    for (const power of powers) arm.putVm(`vm-${power}`, { tags: WEFT, power });
    arm.putVm('vm-deleting', { provisioningState: 'Deleting' });
    const ids = [
      ...[...powers, 'deleting'].map((p) => arm.vmId(`vm-${p}`)),
      arm.vmId('vm-running').replace(/vm-running$/, 'vm-gone'),
    ];
    const read = await reader().describe([...ids, 'arn:aws:ec2:us-east-1:123456789012:instance/i-1']);
    expect(read.map((r) => r.state)).toEqual([
      'running',
      'pending',
      'stopped',
      'stopped',
      'stopped',
      'stopped',
      'terminated',
      'terminated',
    ]);
    expect(read[0]).toMatchObject({
      provider: 'azure',
      kind: 'azure-vm',
      tags: WEFT,
      privateIp: expect.any(String),
    });
    expect(read[1]?.privateIp).toBeUndefined();
    expect(read.at(-1)).toEqual({
      provider: 'azure',
      id: ids.at(-1)!.toLowerCase(),
      kind: 'azure-vm',
      tags: {},
      state: 'terminated',
    });
    expect(arm.requests.filter((r) => r.path.includes('/networkInterfaces/'))).toEqual([
      expect.objectContaining({
        path: expect.stringContaining(`api-version=${NETWORK_API_VERSION}`),
        status: 200,
      }),
    ]);
    expect(new Set(arm.credential.scopes)).toEqual(new Set(['https://management.azure.com/.default']));
  });

  it('sends the token it is given; a wrong one is an UnavailableError naming the status', async () => {
    const wrong = { getToken: async () => ({ token: 'eyJ.wrong', expiresOnTimestamp: Date.now() + 60_000 }) };
    await expect(reader(wrong as never).listTagged()).rejects.toMatchObject({
      name: 'UnavailableError',
      message: expect.stringMatching(/HTTP 401 \(AuthenticationFailed/),
    });
  });

  it('knows a VM id, in any case, and the VM of a tags scope', () => {
    const id = `/subscriptions/${FAKE_SUBSCRIPTION}/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/Vm-1`;
    expect(azureVmId(id)).toBe(id.toLowerCase());
    expect(azureVmId(`${id}/extensions/x`)).toBeUndefined();
    expect(azureVmId(`/subscriptions/${FAKE_SUBSCRIPTION}/resourceGroups/RG`)).toBeUndefined();
    expect(
      vmIdOfEvent({
        type: 'Microsoft.Resources.ResourceWriteSuccess',
        subject: `${id}/providers/Microsoft.Resources/tags/default`,
        data: { operationName: 'Microsoft.Resources/tags/write' },
      }),
    ).toBe(id.toLowerCase());
  });
});

describe('readAzureRegistrarConfig', () => {
  it('needs the subscription and resource group, and checks them and the default environment', () => {
    expect(
      readAzureRegistrarConfig({
        WEFT_AZURE_SUBSCRIPTION_ID: FAKE_SUBSCRIPTION,
        WEFT_AZURE_RESOURCE_GROUP: 'rg-weft',
        AZURE_CLIENT_ID: '5c2b4d6e-0000-4000-8000-000000000001',
      }),
    ).toEqual({
      subscriptionId: FAKE_SUBSCRIPTION,
      resourceGroup: 'rg-weft',
      clientId: '5c2b4d6e-0000-4000-8000-000000000001',
    });
    expect(() => readAzureRegistrarConfig({})).toThrow(
      /WEFT_AZURE_SUBSCRIPTION_ID is not set[\s\S]*WEFT_AZURE_RESOURCE_GROUP is not set/,
    );
    expect(() =>
      readAzureRegistrarConfig({
        WEFT_AZURE_SUBSCRIPTION_ID: 'my-subscription',
        WEFT_AZURE_RESOURCE_GROUP: 'rg.',
        WEFT_DEFAULT_ENVIRONMENT: 'Azure_West',
      }),
    ).toThrow(
      /WEFT_AZURE_SUBSCRIPTION_ID must be a subscription ID[\s\S]*WEFT_AZURE_RESOURCE_GROUP must be[\s\S]*WEFT_DEFAULT_ENVIRONMENT/,
    );
  });
});
