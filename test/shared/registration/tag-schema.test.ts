import { describe, expect, it } from 'vitest';
import { desiredWorkload, workloadName } from '../../../shared/registration/observed-resource.js';
import { readRegistrationTags, tagKeys } from '../../../shared/registration/tag-schema.js';
import { ARN, instance } from './registration-plane.js';

describe('the tag schema', () => {
  it('reads the required and the defaulted keys', () => {
    expect(
      readRegistrationTags({ 'weft:service': 'orders', 'weft:port': '8080' }, { defaultEnvironment: 'aws' }),
    ).toEqual({
      kind: 'valid',
      tags: { service: 'orders', namespace: 'default', port: 8080, environment: 'aws' },
    });
    expect(
      readRegistrationTags({
        'weft:service': 'orders',
        'weft:port': '443',
        'weft:namespace': 'shop',
        'weft:environment': 'aws-east',
        'weft:weight': '0',
      }),
    ).toEqual({
      kind: 'valid',
      tags: { service: 'orders', namespace: 'shop', port: 443, environment: 'aws-east', weight: 0 },
    });
  });

  it('is not ours without a single key under the prefix: nothing to report', () => {
    expect(readRegistrationTags({ Name: 'web-1', 'weftish:service': 'x' })).toEqual({ kind: 'none' });
  });

  it.each([
    [{ 'weft:port': '8080' }, 'weft:service is missing'],
    [{ 'weft:service': 'orders' }, 'weft:port is missing'],
    [{ 'weft:service': 'orders', 'weft:port': '0' }, 'weft:port="0" is not a whole number from 1 to 65535'],
    [{ 'weft:service': 'orders', 'weft:port': '65536' }, 'from 1 to 65535'],
    [{ 'weft:service': 'orders', 'weft:port': 'http' }, 'weft:port="http" is not a whole number'],
    [{ 'weft:service': 'orders', 'weft:port': '80.5' }, 'weft:port="80.5"'],
    [{ 'weft:service': 'Orders', 'weft:port': '80' }, 'weft:service="Orders" is not a DNS label'],
    [{ 'weft:service': 'orders', 'weft:port': '80', 'weft:namespace': 'a_b' }, 'weft:namespace="a_b"'],
    [{ 'weft:service': 'orders', 'weft:port': '80', 'weft:environment': '-x' }, 'weft:environment="-x"'],
    [
      { 'weft:service': 'orders', 'weft:port': '80', 'weft:weight': '1001' },
      'weft:weight="1001" is not a whole number from 0 to 1000',
    ],
    [{ 'weft:service': 'orders', 'weft:port': '80', 'weft:weight': '-1' }, 'weft:weight="-1"'],
  ])('refuses %j: %s', (tags, reason) => {
    const reading = readRegistrationTags(tags, { defaultEnvironment: 'aws' });
    expect(reading.kind).toBe('invalid');
    expect(reading.kind === 'invalid' && reading.reasons.join('\n')).toContain(reason);
  });

  it('needs weft:environment when no default is configured', () => {
    const reading = readRegistrationTags({ 'weft:service': 'orders', 'weft:port': '80' });
    expect(reading).toEqual({
      kind: 'invalid',
      reasons: ['weft:environment is missing and no default environment is configured'],
    });
  });

  it('takes the key spelling as configuration: weft- for Google Cloud labels', () => {
    expect(tagKeys('weft-')).toEqual({
      service: 'weft-service',
      namespace: 'weft-namespace',
      port: 'weft-port',
      environment: 'weft-environment',
      weight: 'weft-weight',
    });
    const labels = { 'weft-service': 'orders', 'weft-port': '8080', 'weft-environment': 'gcp' };
    expect(readRegistrationTags(labels, { prefix: 'weft-' })).toMatchObject({ kind: 'valid' });
    expect(readRegistrationTags(labels)).toEqual({ kind: 'none' });
    expect(() => tagKeys('Weft')).toThrow(TypeError);
  });
});

describe('the Workload a resource should be', () => {
  it('has a deterministic DNS-label name', () => {
    expect(workloadName({ kind: 'ec2-instance', id: ARN })).toBe('ec2-i-0abc1234def567890');
    const task = 'arn:aws:ecs:us-east-1:123456789012:task/shop/c13b4cb40f1f4fe4a2971f76ae5a47ad';
    expect(workloadName({ kind: 'ecs-task', id: task })).toBe('ecs-c13b4cb40f1f4fe4a2971f76ae5a47ad');
    const long = { kind: 'azure-vm', id: `/subscriptions/x/virtualMachines/${'VeryLong_Name'.repeat(8)}` };
    const name = workloadName(long);
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
    expect(workloadName(long)).toBe(name);
    expect(workloadName({ ...long, id: `${long.id}2` })).not.toBe(name);
  });

  it('is the document with the origin label and the resource annotation', () => {
    const desired = desiredWorkload(instance({ tags: { ...instance().tags, 'weft:weight': '5' } }), {
      defaultEnvironment: 'aws',
    });
    expect(desired.kind === 'present' && desired.document).toEqual({
      apiVersion: 'weft.dev/v1',
      kind: 'Workload',
      metadata: {
        name: 'ec2-i-0abc1234def567890',
        namespace: 'shop',
        labels: { 'weft.dev/registered-by': 'aws-tags' },
        annotations: { 'weft.dev/resource': ARN },
      },
      spec: {
        service: 'orders',
        environment: 'aws',
        address: '10.0.1.17:8080',
        weight: 5,
        sourceAddresses: ['10.0.1.17'],
      },
    });
  });

  it('is absent unless running and tagged, invalid without an address', () => {
    for (const state of ['stopped', 'terminated', 'pending'] as const)
      expect(desiredWorkload(instance({ state })).kind).toBe('absent');
    expect(desiredWorkload(instance({ tags: { Name: 'x' } })).kind).toBe('absent');
    const { privateIp: _, ...noIp } = instance();
    expect(desiredWorkload(noIp, { defaultEnvironment: 'aws' })).toEqual({
      kind: 'invalid',
      reasons: ['the resource has no private IP address'],
    });
  });
});
