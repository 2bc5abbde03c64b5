/**
 * The registrar and reconcile functions on Google Cloud, over real HTTP
 * through functions-framework, composed as deployed (`composeGcpRegistrar`)
 * over a control plane in memory (../../shared/registration/registration-plane.ts)
 * and a Compute Engine API stand-in (test/support/fake-compute.ts: an HTTP
 * server at the REST seam the reader calls; nothing of Compute Engine runs here).
 *
 * Where the fixtures' shapes come from (fixtures/*.json, `headers` and `body`):
 * - the Eventarc headers: https://cloud.google.com/eventarc/docs/cloudevents
 *   ("Cloud Audit Logs": `ce-type: google.cloud.audit.log.v1.written`,
 *   `ce-source: //SERVICE_NAME/projects/PROJECT_ID`), the `ce-subject`
 *   `compute.googleapis.com/projects/P/zones/Z/instances/NAME` of Google's
 *   auto-label sample (GoogleCloudPlatform/nodejs-docs-samples,
 *   functions/v2/autoLabelInstance), and the `servicename`/`methodname`/
 *   `resourcename` attributes Eventarc's audit-log triggers filter on;
 * - the LogEntry bodies: Google's own captured Compute Engine audit logs in
 *   GoogleCloudPlatform/gce-license-tracker
 *   (sources/Google.Solutions.LicenseTracker.Test/Data/Events/Config/TestSetLabelsEvent.cs:
 *   the setLabels first entry with `request.labels: [{key, value}]`, its last
 *   entry, the failed call with `status.code: 3` and no `operation`;
 *   .../Lifecycle/TestInsertInstanceEvent.cs: `beta.compute.instances.insert`;
 *   .../Lifecycle/TestDeleteInstanceEvent.cs: the delete whose `resourceName`
 *   names the project by number while `resource.labels.project_id` names it by id),
 *   with this test's project, zone, instance and labels.
 */
import { readFileSync } from 'node:fs';
import { http } from '@google-cloud/functions-framework';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../functions/control-plane/startup.js';
import { GcpCloudResources } from '../../../functions/gcp/gcp-cloud-resources.js';
import { composeGcpRegistrar, readGcpRegistrarConfig } from '../../../functions/gcp/registrar-composition.js';
import {
  createGcpReconcileFunction,
  createGcpRegistrarFunction,
  GCP_RECONCILE_FUNCTION,
  GCP_REGISTRAR_FUNCTION,
} from '../../../functions/gcp/registrar-function.js';
import { readRegistrationStatus } from '../../../shared/registration/registration-status.js';
import { registrationPlane } from '../../shared/registration/registration-plane.js';
import { type FakeCompute, startFakeCompute } from '../../support/fake-compute.js';
import { createPushIssuer, type PushIssuer, push, schedulerPush } from './push-test-server.js';

const ZONE = 'europe-west1-b';
const INSTANCE = `projects/weft-test/zones/${ZONE}/instances/orders-1`;
const WEFT = { 'weft-service': 'orders', 'weft-namespace': 'shop', 'weft-port': '8080' };

interface Fixture {
  readonly headers: Record<string, string>;
  readonly body: { protoPayload: Record<string, unknown> } & Record<string, unknown>;
}
const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`fixtures/${name}.json`, import.meta.url), 'utf8')) as Fixture;

let google: PushIssuer;
let compute: FakeCompute;
beforeAll(async () => {
  google = await createPushIssuer();
});
beforeEach(async () => {
  compute = await startFakeCompute();
});
afterEach(() => compute.close());

async function setup(env: Record<string, string> = {}) {
  const { plane, blobs, lines } = await registrationPlane({ provider: 'gcp' });
  const logger = { info: () => {}, warn: () => {}, error: () => {} };
  const deps = await composeGcpRegistrar(
    { GOOGLE_CLOUD_PROJECT: compute.project, WEFT_DEFAULT_ENVIRONMENT: 'gcp', ...env },
    { plane, blobs, token: async () => compute.token, computeUrl: compute.baseUrl, logger },
  );
  http(
    GCP_REGISTRAR_FUNCTION,
    createGcpRegistrarFunction(deps, () => google.authenticate, logger),
  );
  http(
    GCP_RECONCILE_FUNCTION,
    createGcpReconcileFunction(
      async () => deps,
      () => google.authenticate,
      logger,
    ),
  );
  const deliver = async (event: Fixture) => {
    const headers = { ...event.headers, authorization: await google.bearer() };
    return push(GCP_REGISTRAR_FUNCTION, { headers, body: JSON.stringify(event.body) });
  };
  const reconcile = async () => push(GCP_RECONCILE_FUNCTION, await schedulerPush(google));
  const workload = async (name = 'gce-instance-orders-1', namespace = 'shop') => {
    const doc = (await plane.resources.get({ kind: 'Workload', namespace, name }))?.resource;
    return doc?.kind === 'Workload' ? doc.spec : undefined;
  };
  return { plane, blobs, lines, deliver, reconcile, workload };
}

/** A fixture about another instance. */
function about(event: Fixture, name: string, zone = ZONE): Fixture {
  const resourceName = `projects/weft-test/zones/${zone}/instances/${name}`;
  return {
    headers: {
      ...event.headers,
      'ce-resourcename': resourceName,
      'ce-subject': `compute.googleapis.com/${resourceName}`,
    },
    body: {
      ...event.body,
      protoPayload: { ...event.body.protoPayload, resourceName },
      resource: { type: 'gce_instance', labels: { project_id: 'weft-test', zone, instance_id: '1' } },
    },
  };
}

/** The setLabels first entry, setting `labels` instead of the fixture's. */
function setLabelsFirst(labels: Record<string, string>): Fixture {
  const event = fixture('audit-setlabels-first');
  const request = event.body.protoPayload.request as Record<string, unknown>;
  const list = Object.entries(labels).map(([key, value]) => ({ key, value }));
  const { labels: _old, ...rest } = request;
  return {
    ...event,
    body: {
      ...event.body,
      protoPayload: {
        ...event.body.protoPayload,
        request: list.length > 0 ? { ...rest, labels: list } : rest,
      },
    },
  };
}

describe('Google Cloud registrar (Eventarc audit-log pushes, Compute API stand-in)', () => {
  it('registers from a setLabels first entry with the labels it sets (the instance may not show them yet), its real IP; later entries read the instance', async () => {
    const { deliver, workload } = await setup();
    const vm = compute.put({ zone: ZONE, name: 'orders-1', labels: { env: 'prod' } });
    const res = await deliver(fixture('audit-setlabels-first'));
    expect(res).toMatchObject({ status: 200, body: { resources: [INSTANCE], counts: { registered: 1 } } });
    expect(await workload()).toEqual({
      service: 'orders',
      environment: 'gcp',
      address: `${vm.networkIP}:8080`,
      sourceAddresses: [vm.networkIP],
    });

    // The operation is done: the instance shows the labels, and the last entry writes nothing new.
    vm.labels = { env: 'prod', ...WEFT };
    expect((await deliver(fixture('audit-setlabels-last'))).body).toMatchObject({ counts: { unchanged: 1 } });
    vm.labels = { ...WEFT, 'weft-port': '9090', 'weft-weight': '5' };
    expect((await deliver(fixture('audit-setlabels-last'))).body).toMatchObject({ counts: { updated: 1 } });
    expect(await workload()).toMatchObject({ address: `${vm.networkIP}:9090`, weight: 5 });

    // setLabels with no weft label (proto3 JSON leaves an empty list out): the Workload goes at once.
    expect((await deliver(setLabelsFirst({ env: 'prod' }))).body).toMatchObject({ counts: { removed: 1 } });
    expect(await workload()).toBeUndefined();
  });

  it('reads the instance for a failed setLabels (status code 3, no operation), not the labels it asked for', async () => {
    const { deliver, workload } = await setup();
    compute.put({ zone: ZONE, name: 'orders-1', labels: { env: 'prod' } });
    expect((await deliver(fixture('audit-setlabels-failed'))).body).toMatchObject({ counts: { ignored: 1 } });
    expect(await workload()).toBeUndefined();
  });

  it('an insert registers once the instance runs; a delete (the project named by number) removes it', async () => {
    const { deliver, workload } = await setup();
    const vm = compute.put({ zone: ZONE, name: 'orders-1', status: 'PROVISIONING', labels: WEFT });
    expect((await deliver(fixture('audit-insert-first'))).body).toMatchObject({ counts: { ignored: 1 } });
    expect(await workload()).toBeUndefined();
    vm.status = 'RUNNING';
    expect((await deliver(fixture('audit-insert-last'))).body).toMatchObject({ counts: { registered: 1 } });
    expect(await workload()).toBeDefined();

    compute.remove(ZONE, 'orders-1');
    const res = await deliver(fixture('audit-delete-first'));
    expect(res.body).toMatchObject({ resources: [INSTANCE], counts: { removed: 1 } });
    expect(await workload()).toBeUndefined();
  });

  it('removes the Workload of a stopped instance (Compute calls it TERMINATED)', async () => {
    const { deliver, workload } = await setup();
    const vm = compute.put({ zone: ZONE, name: 'orders-1', labels: WEFT });
    await deliver(fixture('audit-setlabels-last'));
    expect(await workload()).toBeDefined();
    vm.status = 'TERMINATED';
    expect((await deliver(fixture('audit-setlabels-last'))).body).toMatchObject({ counts: { removed: 1 } });
  });

  it('counts bad labels in the status document and answers 200 (a retry would not fix them)', async () => {
    const { deliver, workload, blobs } = await setup();
    compute.put({ zone: ZONE, name: 'orders-1', labels: { ...WEFT, 'weft-port': '70000' } });
    compute.put({ zone: ZONE, name: 'orders-2', labels: { ...WEFT, 'weft-service': 'orders_v2' } });
    const port = await deliver(fixture('audit-setlabels-last'));
    expect(port).toMatchObject({ status: 200, body: { counts: { rejected: 1 } } });
    const underscore = await deliver(about(fixture('audit-setlabels-last'), 'orders-2'));
    expect(underscore).toMatchObject({ status: 200, body: { counts: { rejected: 1 } } });
    expect(await workload()).toBeUndefined();
    const status = await readRegistrationStatus(blobs, 'gcp');
    expect(status?.totals).toMatchObject({ rejected: 2 });
    expect(status?.recent.map((p) => p.reason)).toEqual([
      expect.stringContaining('weft-service="orders_v2" is not a DNS label'),
      expect.stringContaining('weft-port="70000"'),
    ]);
  });

  it('leaves alone a Workload of that name it did not make (a conflict, reported)', async () => {
    const { deliver, plane, workload } = await setup();
    compute.put({ zone: ZONE, name: 'orders-1', labels: WEFT });
    await plane.resources.put({
      apiVersion: 'weft.dev/v1',
      kind: 'Workload',
      metadata: { name: 'gce-instance-orders-1', namespace: 'shop' },
      spec: { service: 'orders', environment: 'gcp', address: '10.9.9.9:80' },
    });
    expect((await deliver(fixture('audit-setlabels-last'))).body).toMatchObject({ counts: { conflict: 1 } });
    expect((await workload())?.address).toBe('10.9.9.9:80');
  });

  it('skips an event about no Compute Engine instance, and refuses an unsigned push', async () => {
    const { deliver } = await setup();
    const disk = fixture('audit-insert-first');
    const other = {
      ...disk,
      body: {
        ...disk.body,
        protoPayload: { ...disk.body.protoPayload, methodName: 'v1.compute.disks.insert' },
      },
    };
    expect(await deliver(other)).toMatchObject({ status: 200, body: { resources: [], counts: {} } });
    const notAudit = {
      ...disk,
      headers: { ...disk.headers, 'ce-type': 'google.cloud.storage.object.v1.finalized' },
    };
    expect((await deliver(notAudit)).body).toEqual({ resources: [], counts: {} });
    const { body, headers } = fixture('audit-setlabels-first');
    expect((await push(GCP_REGISTRAR_FUNCTION, { headers, body: JSON.stringify(body) })).status).toBe(401);
  });

  it('fails the push (503) when Compute cannot be read, so Eventarc retries it', async () => {
    const { deliver } = await setup();
    compute.put({ zone: ZONE, name: 'orders-1', labels: WEFT });
    compute.failNext(403);
    const res = await deliver(fixture('audit-setlabels-last'));
    expect(res).toMatchObject({ status: 503, contentType: 'application/problem+json' });
    expect((res.body as { detail: string }).detail).toMatch(/HTTP 403.*roles\/compute.viewer/);
  });

  it('reconcile lists the labelled instances of the region across pages, and removes what is gone', async () => {
    const { reconcile, workload, blobs } = await setup({ WEFT_GCP_REGION: 'europe-west1' });
    compute.pageSize = 1;
    const a = compute.put({ zone: ZONE, name: 'orders-1', labels: WEFT });
    const b = compute.put({ zone: 'europe-west1-c', name: 'orders-2', labels: WEFT });
    compute.put({ zone: ZONE, name: 'unlabelled', labels: { env: 'prod' } });
    compute.put({ zone: 'us-central1-a', name: 'orders-3', labels: WEFT });
    const res = await reconcile();
    expect(res).toMatchObject({ status: 200, body: { counts: { registered: 2 } } });
    expect((await workload('gce-instance-orders-1'))?.address).toBe(`${a.networkIP}:8080`);
    expect((await workload('gce-instance-orders-2'))?.address).toBe(`${b.networkIP}:8080`);
    expect(await workload('gce-instance-orders-3')).toBeUndefined();
    const lists = compute.requests.filter((r) => r.includes('/aggregated/instances'));
    expect(lists.length).toBeGreaterThan(1);
    expect(new URL(lists[0]!, 'http://x').searchParams.get('filter')).toBe('labels.weft-service:*');
    expect((await readRegistrationStatus(blobs, 'gcp'))?.lastReconcile).toMatchObject({
      resources: 2,
      puts: 2,
    });

    // Deleted with its event lost: the next reconcile reads it again (a 404) and removes its Workload.
    compute.remove('europe-west1-c', 'orders-2');
    expect((await reconcile()).body).toMatchObject({ counts: { removed: 1, unchanged: 1 } });
    expect(await workload('gce-instance-orders-2')).toBeUndefined();
  });
});

describe('GcpCloudResources', () => {
  it('maps Compute statuses, and reads an instance without a network interface as one with no IP', async () => {
    const resources = new GcpCloudResources({
      project: compute.project,
      token: async () => compute.token,
      baseUrl: compute.baseUrl,
    });
    const statuses = [
      'PROVISIONING',
      'STAGING',
      'RUNNING',
      'STOPPING',
      'SUSPENDED',
      'TERMINATED',
      'REPAIRING',
    ];
    for (const status of statuses) compute.put({ zone: ZONE, name: status.toLowerCase(), status });
    compute.put({ zone: ZONE, name: 'no-nic', networkIP: null });
    const ids = [...statuses.map((s) => s.toLowerCase()), 'no-nic', 'gone'].map(
      (name) => `projects/${compute.project}/zones/${ZONE}/instances/${name}`,
    );
    const read = await resources.describe([...ids, 'arn:aws:ec2:us-east-1:123456789012:instance/i-1']);
    expect(read.map((r) => r.state)).toEqual([
      'pending',
      'pending',
      'running',
      'stopped',
      'stopped',
      'stopped',
      'pending',
      'running',
      'terminated',
    ]);
    expect(read.at(-2)?.privateIp).toBeUndefined();
    expect(read.at(-1)).toEqual({
      provider: 'gcp',
      id: ids.at(-1),
      kind: 'gce-instance',
      tags: {},
      state: 'terminated',
    });
  });

  it('sends the token it is given; a wrong one is an UnavailableError naming the status', async () => {
    const resources = new GcpCloudResources({
      project: compute.project,
      token: async () => 'ya29.wrong',
      baseUrl: compute.baseUrl,
    });
    await expect(resources.listTagged()).rejects.toMatchObject({
      name: 'UnavailableError',
      message: expect.stringMatching(/HTTP 401 \(Request is missing required authentication credential/),
    });
  });
});

describe('readGcpRegistrarConfig', () => {
  it('needs the project, and checks the region and the default environment', () => {
    expect(readGcpRegistrarConfig({ GOOGLE_CLOUD_PROJECT: 'p1', WEFT_GCP_REGION: 'europe-west1' })).toEqual({
      project: 'p1',
      region: 'europe-west1',
    });
    let error: unknown;
    try {
      readGcpRegistrarConfig({ WEFT_GCP_REGION: 'europe-west1-b', WEFT_DEFAULT_ENVIRONMENT: 'Prod' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).variables).toEqual([
      'GOOGLE_CLOUD_PROJECT',
      'WEFT_GCP_REGION',
      'WEFT_DEFAULT_ENVIRONMENT',
    ]);
    expect(() => readGcpRegistrarConfig({ GOOGLE_CLOUD_PROJECT: '123456789012' })).toThrow(
      /id, not its number/,
    );
  });
});
