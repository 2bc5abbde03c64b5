/**
 * The HTTP edge of every Event Grid webhook: the two validation handshakes
 * (answered before any check, with or without a token, as Event Grid may
 * send either), the Entra ID token minted here from a local key set
 * (nothing of Entra ID or Event Grid runs outside Azure), the shared-secret
 * mode, and the three body forms. Shapes from Microsoft's documentation:
 * "Endpoint validation with CloudEvents schema" (the OPTIONS handshake),
 * "Endpoint validation with Event Grid event schema" (the validation event),
 * "Deliver events to Microsoft Entra protected endpoints".
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  azurePushAuthenticator,
  createEventGridHandler,
  type EventGridDelivery,
  readAzurePushConfig,
  readEvents,
} from '../../../functions/azure/event-grid-delivery.js';
import { EVENT_GRID_APP_ID } from '../../../functions/control-plane/push-auth.js';
import { createTokenIssuer } from '../../support/token-issuer.js';
import {
  createEntraIssuer,
  deliver,
  type EntraIssuer,
  PUSH_AUDIENCE,
  TENANT,
} from './webhook-test-server.js';

const SECRET = 's3cr3t-'.repeat(6);
const SILENT = { info() {}, error() {} };
const EVENT = {
  specversion: '1.0',
  id: 'e-1',
  source: '/weft/azure',
  type: 'dev.weft.resource.changed',
  subject: 'Service/shop/orders',
  data: { kind: 'Service' },
};

let entra: EntraIssuer;
let seen: EventGridDelivery[];
let handler: ReturnType<typeof createEventGridHandler>;

beforeAll(async () => {
  entra = await createEntraIssuer();
  seen = [];
  handler = createEventGridHandler(
    () => entra.authenticate,
    async (delivery) => {
      seen.push(delivery);
      return { took: delivery.events.length };
    },
    SILENT,
  );
});

describe('Event Grid webhooks: the handshakes, before any check', () => {
  it('answers the CloudEvents OPTIONS handshake with the origin and any rate, with a token or without', async () => {
    for (const authorization of [undefined, await entra.bearer(), 'Bearer not-a-token']) {
      const res = await deliver(handler, {
        method: 'OPTIONS',
        headers: {
          'webhook-request-origin': 'eventgrid.azure.net',
          'webhook-request-rate': '120',
          ...(authorization && { authorization }),
        },
      });
      expect(res.status).toBe(200);
      expect(res.headers).toMatchObject({
        'webhook-allowed-origin': 'eventgrid.azure.net',
        'webhook-allowed-rate': '*',
      });
    }
    const plain = await deliver(handler, { method: 'OPTIONS' });
    expect(plain.status).toBe(204);
    expect(plain.headers.allow).toBe('OPTIONS, POST');
  });

  it('answers the Event Grid schema validation event with its code, with a token or without', async () => {
    const validation = [
      {
        id: '2d1781af-3a4c-4d7c-bd0c-e34b19da4e66',
        topic: '/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg-weft',
        subject: '',
        data: {
          validationCode: '512d38b6-c7b8-40c8-89fe-f46f9e9622b6',
          validationUrl:
            'https://rp-westeurope.eventgrid.azure.net:553/eventsubscriptions/weft-registrar/validate?id=512d38b6',
        },
        eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent',
        eventTime: '2026-11-30T10:00:00Z',
        metadataVersion: '1',
        dataVersion: '1',
      },
    ];
    for (const authorization of [undefined, await entra.bearer()]) {
      const res = await deliver(handler, {
        headers: {
          'content-type': 'application/json',
          'aeg-event-type': 'SubscriptionValidation',
          ...(authorization && { authorization }),
        },
        body: validation,
      });
      expect(res).toMatchObject({
        status: 200,
        body: { validationResponse: '512d38b6-c7b8-40c8-89fe-f46f9e9622b6' },
      });
    }
    expect(seen).toEqual([]);
  });

  it('refuses other methods with 405 and Allow', async () => {
    const res = await deliver(handler, { method: 'GET' });
    expect(res.status).toBe(405);
    expect(res.headers).toMatchObject({ allow: 'OPTIONS, POST', 'content-type': 'application/problem+json' });
  });
});

describe('Event Grid webhooks: Entra ID delivery tokens', () => {
  it('takes a delivery with Event Grid’s token for the audience, v1 or v2', async () => {
    seen.length = 0;
    const v1 = await deliver(handler, { headers: { authorization: await entra.bearer() }, body: EVENT });
    expect(v1).toMatchObject({ status: 200, body: { took: 1 } });
    const v2 = await entra.bearer({
      iss: `https://login.microsoftonline.com/${TENANT}/v2.0`,
      appid: undefined,
      azp: EVENT_GRID_APP_ID,
      ver: '2.0',
    });
    expect((await deliver(handler, { headers: { authorization: v2 }, body: EVENT })).status).toBe(200);
    expect(seen[0]).toMatchObject({ events: [EVENT], claims: { tid: TENANT, appid: EVENT_GRID_APP_ID } });
  });

  it.each([
    ['no token', async () => undefined, /Authorization: Bearer/],
    ['an expired token', async () => entra.bearer({ iat: 1_000_000, exp: 1_000_060 }), /expired/],
    ['another audience', async () => entra.bearer({ aud: 'api://someone-else' }), /another audience/],
    [
      'another tenant',
      async () =>
        entra.bearer({
          iss: 'https://sts.windows.net/00000000-0000-0000-0000-000000000002/',
          tid: '00000000-0000-0000-0000-000000000002',
        }),
      /iss/,
    ],
    [
      'the tenant’s issuer with another tid',
      async () => entra.bearer({ tid: '00000000-0000-0000-0000-000000000003' }),
      /tid/,
    ],
    [
      'a caller that is not Event Grid',
      async () => entra.bearer({ appid: '04b07795-8ddb-461a-bbee-02f9e1bf7b46' }),
      /not issued to Event Grid/,
    ],
    [
      'a token signed by another key',
      async () => `Bearer ${await (await createTokenIssuer(entra.issuer.kid)).sign({ aud: PUSH_AUDIENCE })}`,
      /signature/,
    ],
  ])('refuses %s with 401 problem+json, handing nothing on', async (_name, authorization, detail) => {
    seen.length = 0;
    const token = await authorization();
    const res = await deliver(handler, { headers: { ...(token && { authorization: token }) }, body: EVENT });
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect((res.body as { detail: string }).detail).toMatch(detail);
    expect(seen).toEqual([]);
  });
});

describe('Event Grid webhooks: a shared secret instead', () => {
  it('takes the x-weft-delivery-secret header, refuses anything else', async () => {
    const check = azurePushAuthenticator({ WEFT_PUSH_SECRET: SECRET });
    const secretHandler = createEventGridHandler(
      () => check,
      async ({ events }) => ({ took: events.length }),
      SILENT,
    );
    const ok = await deliver(secretHandler, { headers: { 'x-weft-delivery-secret': SECRET }, body: EVENT });
    expect(ok).toMatchObject({ status: 200, body: { took: 1 } });
    expect(
      (await deliver(secretHandler, { headers: { 'x-weft-delivery-secret': `${SECRET}!` }, body: EVENT }))
        .status,
    ).toBe(401);
    expect(
      (await deliver(secretHandler, { headers: { authorization: await entra.bearer() }, body: EVENT }))
        .status,
    ).toBe(401);
  });

  it('needs Entra ID or a secret, not both, and says which variables', () => {
    expect(
      readAzurePushConfig({
        WEFT_PUSH_TENANT_ID: TENANT,
        WEFT_PUSH_AUDIENCE: `${PUSH_AUDIENCE}, 0c1b9d2e-5f4a-4e3b-8c7d-6a5b4c3d2e1f`,
      }),
    ).toEqual({
      kind: 'entra',
      tenantId: TENANT,
      audiences: [PUSH_AUDIENCE, '0c1b9d2e-5f4a-4e3b-8c7d-6a5b4c3d2e1f'],
    });
    // The deployment sets every variable, the unused ones empty.
    expect(
      readAzurePushConfig({ WEFT_PUSH_TENANT_ID: '', WEFT_PUSH_AUDIENCE: '', WEFT_PUSH_SECRET: SECRET }),
    ).toEqual({
      kind: 'secret',
      secret: SECRET,
    });
    expect(() => readAzurePushConfig({})).toThrow(
      /WEFT_PUSH_AUDIENCE \(with WEFT_PUSH_TENANT_ID\), or WEFT_PUSH_SECRET/,
    );
    expect(() => readAzurePushConfig({ WEFT_PUSH_AUDIENCE: PUSH_AUDIENCE })).toThrow(
      /WEFT_PUSH_TENANT_ID is not set/,
    );
    expect(() =>
      readAzurePushConfig({ WEFT_PUSH_AUDIENCE: PUSH_AUDIENCE, WEFT_PUSH_TENANT_ID: 'contoso' }),
    ).toThrow(/GUID/);
    expect(() => readAzurePushConfig({ WEFT_PUSH_SECRET: 'short' })).toThrow(/at least 32/);
    expect(() =>
      readAzurePushConfig({
        WEFT_PUSH_TENANT_ID: TENANT,
        WEFT_PUSH_AUDIENCE: PUSH_AUDIENCE,
        WEFT_PUSH_SECRET: SECRET,
      }),
    ).toThrow(/both set/);
  });
});

describe('Event Grid webhooks: the body', () => {
  it('reads one structured CloudEvent, a CloudEvents batch, and the Event Grid schema as CloudEvents', () => {
    expect(readEvents(JSON.stringify(EVENT), 'application/cloudevents+json; charset=utf-8')).toEqual([EVENT]);
    expect(
      readEvents(JSON.stringify([EVENT, { ...EVENT, id: 'e-2' }]), 'application/cloudevents-batch+json'),
    ).toHaveLength(2);
    const [mapped] = readEvents(
      JSON.stringify([
        {
          id: '19a69642',
          topic: '/subscriptions/s/resourceGroups/rg',
          subject: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm-1',
          eventType: 'Microsoft.Resources.ResourceDeleteSuccess',
          eventTime: '2026-11-30T19:24:12.763881Z',
          data: { operationName: 'Microsoft.Compute/virtualMachines/delete' },
          dataVersion: '2',
          metadataVersion: '1',
        },
      ]),
      'application/json',
    );
    expect(mapped).toEqual({
      specversion: '1.0',
      id: '19a69642',
      source: '/subscriptions/s/resourceGroups/rg',
      type: 'Microsoft.Resources.ResourceDeleteSuccess',
      subject: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm-1',
      time: '2026-11-30T19:24:12.763881Z',
      data: { operationName: 'Microsoft.Compute/virtualMachines/delete' },
    });
  });

  it('refuses a body that is no JSON (400) or holds no event, after the check', async () => {
    const authorization = await entra.bearer();
    expect((await deliver(handler, { headers: { authorization }, body: '{not json' })).status).toBe(400);
    expect((await deliver(handler, { headers: { authorization }, body: [] })).status).toBe(400);
    expect((await deliver(handler, { headers: { authorization }, body: [1, 2] })).status).toBe(400);
    // Unauthenticated, the same body is a 401: nothing is said about it.
    expect((await deliver(handler, { body: '{not json' })).status).toBe(401);
  });

  it('refuses a declared body over 1 MiB before reading it', async () => {
    const res = await deliver(handler, {
      headers: { authorization: await entra.bearer(), 'content-length': String(2 * 1024 * 1024) },
      body: EVENT,
    });
    expect(res.status).toBe(413);
  });
});
