import { describe, expect, it } from 'vitest';
import { type CloudResources, Registrar } from '../../../shared/registration/registrar.js';
import { readRegistrationStatus } from '../../../shared/registration/registration-status.js';
import { ARN, instance, registrationPlane, WORKLOAD } from './registration-plane.js';

describe('the registrar', () => {
  it('registers a running, tagged resource, and writes nothing when nothing changed', async () => {
    const { plane, registrar } = await registrationPlane();
    expect((await registrar.observe([instance()])).outcomes).toEqual([
      { resource: ARN, action: 'registered', workload: 'shop/ec2-i-0abc1234def567890' },
    ]);
    const stored = await plane.resources.get(WORKLOAD);
    expect(stored?.resource?.spec).toMatchObject({ address: '10.0.1.17:8080', environment: 'aws' });
    const again = await registrar.observe([instance()]);
    expect(again.counts.unchanged).toBe(1);
    expect((await plane.resources.get(WORKLOAD))?.version).toBe(stored?.version);
  });

  it('updates it when a tag or the address changes', async () => {
    const { plane, registrar } = await registrationPlane();
    await registrar.observe([instance()]);
    const report = await registrar.observe([instance({ tags: { ...instance().tags, 'weft:port': '9090' } })]);
    expect(report.counts.updated).toBe(1);
    expect((await plane.resources.get(WORKLOAD))?.resource?.spec).toMatchObject({
      address: '10.0.1.17:9090',
    });
  });

  it('moves it when the namespace tag changes', async () => {
    const { plane, registrar } = await registrationPlane();
    await plane.resources.put({
      apiVersion: 'weft.dev/v1',
      kind: 'Service',
      metadata: { name: 'orders', namespace: 'shop2' },
      spec: { ports: [{ port: 8080 }] },
    });
    await registrar.observe([instance()]);
    await registrar.observe([instance({ tags: { ...instance().tags, 'weft:namespace': 'shop2' } })]);
    expect(await plane.resources.get(WORKLOAD)).toBeUndefined();
    expect(await plane.resources.get({ ...WORKLOAD, namespace: 'shop2' })).toBeDefined();
  });

  it.each([
    ['its weft tags are removed', instance({ tags: { Name: 'x' } })],
    ['it stops', instance({ state: 'stopped' })],
    ['it is terminated (or gone)', instance({ state: 'terminated', tags: {} })],
  ])('deletes its own Workload when %s', async (_, resource) => {
    const { plane, registrar } = await registrationPlane();
    await registrar.observe([instance()]);
    expect((await registrar.observe([resource])).counts.removed).toBe(1);
    expect(await plane.resources.get(WORKLOAD)).toBeUndefined();
    // Nothing left to remove: the next event is a no-op.
    expect((await registrar.observe([resource])).counts.ignored).toBe(1);
  });

  it("never overwrites or deletes an operator's Workload of the same name: a conflict, reported", async () => {
    const { plane, registrar, blobs, lines } = await registrationPlane();
    const operators = {
      apiVersion: 'weft.dev/v1',
      kind: 'Workload',
      metadata: { name: WORKLOAD.name, namespace: 'shop' },
      spec: { service: 'orders', environment: 'aws', address: '10.9.9.9:80' },
    };
    await plane.resources.put(operators);
    const before = await plane.resources.get(WORKLOAD);
    const report = await registrar.observe([instance()]);
    expect(report.outcomes[0]).toMatchObject({
      action: 'conflict',
      workload: 'shop/ec2-i-0abc1234def567890',
    });
    await registrar.observe([instance({ state: 'terminated', tags: {} })]);
    expect((await plane.resources.get(WORKLOAD))?.version).toBe(before?.version);
    const status = await readRegistrationStatus(blobs, 'aws');
    expect(status?.totals.conflicts).toBe(1);
    expect(status?.recent[0]).toMatchObject({ type: 'conflict', resource: ARN });
    expect(lines.filter((l) => l.event.msg === 'registration conflict')).toHaveLength(1);
  });

  it('reports bad tags: one JSON log line each, counted, never thrown; what is registered stays', async () => {
    const { plane, registrar, blobs, lines } = await registrationPlane();
    await registrar.observe([instance()]);
    const bad = [
      instance({ tags: { ...instance().tags, 'weft:port': 'eighty' } }),
      instance({
        id: `${ARN}1`,
        tags: { 'weft:service': 'nope', 'weft:namespace': 'shop', 'weft:port': '80' },
      }),
      instance({ id: `${ARN}2`, tags: { ...instance().tags, 'weft:environment': 'mars' } }),
      instance({ id: `${ARN}3`, tags: { 'weft:namespace': 'shop' } }),
    ];
    const report = await registrar.observe(bad);
    expect(report.counts.rejected).toBe(4);
    expect(report.outcomes.map((o) => o.reasons?.join())).toEqual([
      expect.stringContaining('weft:port="eighty"'),
      'Service shop/nope does not exist',
      expect.stringContaining('Environment mars does not exist'),
      expect.stringContaining('weft:service is missing'),
    ]);
    const warnings = lines.filter((l) => l.level === 'warn');
    expect(warnings).toHaveLength(4);
    expect(JSON.parse(JSON.stringify(warnings[0]!.event))).toMatchObject({
      msg: 'registration rejected',
      provider: 'aws',
      resource: ARN,
    });
    expect((await plane.resources.get(WORKLOAD))?.resource?.spec).toMatchObject({
      address: '10.0.1.17:8080',
    });
    const status = await readRegistrationStatus(blobs, 'aws');
    expect(status?.totals).toEqual({ registered: 1, updated: 0, removed: 0, rejected: 4, conflicts: 0 });
    expect(status?.recent.map((p) => p.resource)).toEqual([`${ARN}3`, `${ARN}2`, `${ARN}1`, ARN]);
  });

  it('says nothing about a resource with no weft tags at all', async () => {
    const { registrar, blobs, lines } = await registrationPlane();
    expect((await registrar.observe([instance({ tags: { Name: 'x' } })])).counts.ignored).toBe(1);
    expect(lines.filter((l) => l.level !== 'info')).toEqual([]);
    expect(await readRegistrationStatus(blobs, 'aws')).toBeUndefined();
  });

  it("an operator's delete of a registered Workload lasts until the next event or reconcile", async () => {
    const { plane, registrar } = await registrationPlane();
    await registrar.observe([instance()]);
    await plane.resources.delete(WORKLOAD);
    expect((await registrar.observe([instance()])).counts.registered).toBe(1);
  });

  it('rethrows what the store could not do, after counting the rest', async () => {
    const { plane, store } = await registrationPlane();
    const broken = { ...plane.resources, put: async () => Promise.reject(new Error('store down')) };
    const failing = new Registrar({
      provider: 'aws',
      writer: broken,
      workloads: store,
      tags: { defaultEnvironment: 'aws' },
    });
    await expect(failing.observe([instance()])).rejects.toThrow('store down');
  });
});

describe('the reconcile', () => {
  const cloudOf = (
    listed: ReturnType<typeof instance>[],
    described = new Map<string, ReturnType<typeof instance>>(),
  ) =>
    ({
      listTagged: async () => listed,
      describe: async (ids) =>
        ids.map(
          (id) =>
            described.get(id) ?? { provider: 'aws', id, kind: 'ec2-instance', tags: {}, state: 'terminated' },
        ),
    }) satisfies CloudResources;

  it('registers a tagged resource whose event never came, and deletes owned Workloads whose resource is gone', async () => {
    const { plane, registrar, blobs } = await registrationPlane();
    const gone = instance({ id: `${ARN}9`, privateIp: '10.0.1.99' });
    await registrar.observe([gone]);
    const report = await registrar.reconcile(cloudOf([instance()]));
    expect(report.counts).toMatchObject({ registered: 1, removed: 1 });
    expect(await plane.resources.get(WORKLOAD)).toBeDefined();
    expect(await plane.resources.get({ ...WORKLOAD, name: 'ec2-i-0abc1234def5678909' })).toBeUndefined();
    const status = await readRegistrationStatus(blobs, 'aws');
    expect(status?.lastReconcile).toEqual({
      at: '2026-12-01T12:00:00.000Z',
      resources: 1,
      puts: 1,
      deletes: 1,
    });
  });

  it('looks an orphan up again before deleting it: one that lost only its service tag listing is re-read', async () => {
    const { plane, registrar } = await registrationPlane();
    await registrar.observe([instance()]);
    // Not listed (say the tagging index lags), but still running and tagged when described.
    const report = await registrar.reconcile(cloudOf([], new Map([[ARN, instance()]])));
    expect(report.counts.unchanged).toBe(1);
    expect(await plane.resources.get(WORKLOAD)).toBeDefined();
  });

  it("leaves operators' Workloads alone, whatever the cloud lists", async () => {
    const { plane, registrar } = await registrationPlane();
    await plane.resources.put({
      apiVersion: 'weft.dev/v1',
      kind: 'Workload',
      metadata: { name: 'hand-made', namespace: 'shop' },
      spec: { service: 'orders', environment: 'aws', address: '10.9.9.9:80' },
    });
    expect((await registrar.reconcile(cloudOf([]))).outcomes).toEqual([]);
    expect(await plane.resources.get({ ...WORKLOAD, name: 'hand-made' })).toBeDefined();
  });
});
