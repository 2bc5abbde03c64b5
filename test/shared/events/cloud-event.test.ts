import { describe, expect, it } from 'vitest';
import { parseCloudEvent } from '../../../shared/events/cloud-event.js';
import {
  parseResourceChange,
  RESOURCE_CHANGED,
  resourceChangedEvent,
} from '../../../shared/events/resource-changed.js';
import { ValidationError } from '../../../shared/model/errors.js';
import { parseResource } from '../../../shared/model/resource.js';
import type { StoredRecord } from '../../../shared/storage/state-store.js';

const VERSION = '1700000000000-000003-local';
const record: StoredRecord = {
  key: { kind: 'Service', namespace: 'shop', name: 'orders' },
  version: VERSION,
  origin: 'local',
  updatedAt: '2025-01-02T03:04:05.678Z',
  resource: parseResource({
    apiVersion: 'weft.dev/v1',
    kind: 'Service',
    metadata: { name: 'orders', namespace: 'shop' },
    spec: { ports: [{ port: 80 }] },
  }),
};

describe('resourceChangedEvent', () => {
  it('wears exactly the CloudEvents 1.0 attributes, with the write named by key and version', () => {
    const event = resourceChangedEvent(record, '/weft/local');
    expect(event).toStrictEqual({
      specversion: '1.0',
      id: `Service/shop/orders@${VERSION}`,
      source: '/weft/local',
      type: RESOURCE_CHANGED,
      time: '2025-01-02T03:04:05.678Z',
      subject: 'Service/shop/orders',
      datacontenttype: 'application/json',
      data: { key: record.key, version: VERSION, origin: 'local', deleted: false },
    });
    expect(parseCloudEvent(JSON.parse(JSON.stringify(event)))).toStrictEqual(event);
    expect(parseResourceChange(event)).toStrictEqual(event.data);
  });

  it('marks a tombstone as deleted, and leaves time out when the record has none', () => {
    const event = resourceChangedEvent({ ...record, resource: null, updatedAt: '' }, '/weft/aws');
    expect(event.data?.deleted).toBe(true);
    expect(event).not.toHaveProperty('time');
    expect(parseCloudEvent(event).id).toBe(event.id);
  });
});

describe('parseCloudEvent', () => {
  const valid = resourceChangedEvent(record, '/weft/local');
  const refuse = (input: unknown, pointer: string) => {
    let error: unknown;
    try {
      parseCloudEvent(input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).issues.map((i) => i.pointer)).toContain(pointer);
  };

  it('refuses another spec version, missing required attributes, and bad optional ones', () => {
    refuse({ ...valid, specversion: '0.3' }, '/specversion');
    refuse({ ...valid, id: '' }, '/id');
    refuse({ ...valid, source: 'has space' }, '/source');
    refuse({ ...valid, type: undefined }, '/type');
    refuse({ ...valid, time: 'yesterday' }, '/time');
    refuse({ ...valid, dataschema: 'not a url' }, '/dataschema');
    refuse('{"specversion":"1.0"}', '');
  });

  it('keeps well-named extensions and refuses badly named ones', () => {
    expect(parseCloudEvent({ ...valid, traceparent: '00-ab-cd-01' })).toHaveProperty('traceparent');
    refuse({ ...valid, 'Trace-Parent': 'x' }, '/Trace-Parent');
  });
});

describe('parseResourceChange', () => {
  const event = resourceChangedEvent(record, '/weft/local');

  it('refuses events of another type and malformed data, naming the field', () => {
    expect(() => parseResourceChange({ ...event, type: 'dev.weft.other' })).toThrow(ValidationError);
    const bad = (data: unknown, pointer: string) => {
      try {
        parseResourceChange({ ...event, data });
        expect.unreachable();
      } catch (error) {
        expect((error as ValidationError).issues[0]?.pointer).toBe(pointer);
      }
    };
    bad({ ...event.data, version: 'v1' }, '/data/version');
    bad({ ...event.data, key: { ...record.key, kind: 'Pod' } }, '/data/key/kind');
    bad({ ...event.data, key: { ...record.key, name: '../x' } }, '/data/key/name');
    bad({ ...event.data, deleted: 'no' }, '/data/deleted');
  });
});
