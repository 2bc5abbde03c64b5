import { TableClient } from '@azure/data-tables';
import azureFunctions from '@azure/functions';
import { describe, expect, it } from 'vitest';
import { createAzureApiHandler } from '../../../functions/azure/api-function.js';
import { composeAzureApi } from '../../../functions/azure/composition.js';
import type { Api, ApiRequest } from '../../../shared/api/types.js';
import { LocalEventBus } from '../../../shared/events/local-event-bus.js';
import { MemoryKeyRing } from '../../../shared/identity/memory-key-ring.js';
import { MemoryBlobStore } from '../../../shared/storage/memory-blob-store.js';
import { MemoryStateStore } from '../../../shared/storage/memory-state-store.js';
import { describeApiContract } from '../../contract/api.js';
import { type CallOptions, createTestOperators } from '../../support/api.js';

const { HttpRequest, HttpResponse, InvocationContext } = azureFunctions;
const SILENT = { info() {}, error() {} };
/** Azurite's well-known account on a port nothing listens on: clients are built, never called. */
const UNREACHED =
  'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://127.0.0.1:1/devstoreaccount1;BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;';

/**
 * Calls the handler as the Functions host would: a request under the default
 * `/api` route prefix with the catch-all `{*path}` parameter filled in, and
 * the returned init turned into a response.
 */
function azureCaller(api: Api) {
  const handler = createAzureApiHandler(api);
  return async (method: string, pathAndQuery: string, options: CallOptions = {}) => {
    // The path as sent, never normalised (`new URL` would resolve `..`).
    const rawPath = pathAndQuery.split('?')[0]!;
    const request = new HttpRequest({
      method,
      url: `https://weft.azurewebsites.net/api${pathAndQuery}`,
      headers: { 'x-forwarded-for': '192.0.2.9:51234', ...options.headers },
      params: { path: rawPath.slice(1) },
      ...(options.body !== undefined && { body: { string: options.body } }),
    });
    const context = new InvocationContext({ functionName: 'weftApi', invocationId: crypto.randomUUID() });
    const response = new HttpResponse(await handler(request, context));
    return {
      status: response.status,
      headers: Object.fromEntries(response.headers),
      body: await response.text(),
    };
  };
}

describeApiContract('Azure Functions v4 (HttpRequest objects)', async () => {
  const { env, adminToken, viewerToken } = await createTestOperators();
  const api = await composeAzureApi(env, {
    createStore: () => new MemoryStateStore(),
    tables: (name) => TableClient.fromConnectionString(UNREACHED, name),
    blobs: new MemoryBlobStore(),
    bus: new LocalEventBus(),
    keys: new MemoryKeyRing(),
    logger: SILENT,
  });
  return { call: azureCaller(api), adminToken, viewerToken, close: async () => {} };
});

describe('createAzureApiHandler', () => {
  it('hands the API the path below the route prefix, query, headers, body and client address', async () => {
    const seen: ApiRequest[] = [];
    const call = azureCaller(async (req) => {
      seen.push(req);
      return { status: 204, headers: { 'x-weft': 'yes' }, body: '' };
    });
    const res = await call('POST', '/v1/apply?dryRun=true', {
      body: 'kind: Service',
      headers: { 'Content-Type': 'application/yaml' },
    });
    expect(res.status).toBe(204);
    expect(res.headers['x-weft']).toBe('yes');
    expect(seen[0]).toEqual({
      method: 'POST',
      path: '/v1/apply',
      query: { dryRun: 'true' },
      headers: { 'content-type': 'application/yaml', 'x-forwarded-for': '192.0.2.9:51234' },
      body: 'kind: Service',
      sourceIp: '192.0.2.9',
    });
  });

  it('refuses a declared body over 1 MiB before reading it', async () => {
    const seen: ApiRequest[] = [];
    const call = azureCaller(async (req) => {
      seen.push(req);
      return { status: 200, headers: {}, body: '' };
    });
    const res = await call('POST', '/v1/apply', {
      body: 'x',
      headers: { 'content-type': 'application/yaml', 'content-length': String(2 * 1024 * 1024) },
    });
    expect(res.status).toBe(413);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(seen).toEqual([]);
  });
});

describe('composeAzureApi', () => {
  it('needs the storage account (or a connection string), the topic and the vault, and names them all', async () => {
    const { env } = await createTestOperators();
    const refusal = (await composeAzureApi(env).then(
      () => undefined,
      (error: Error) => error,
    )) as Error | undefined;
    expect(refusal?.message).toMatch(
      /WEFT_STORAGE_ACCOUNT is not set \(nor WEFT_TABLES_CONNECTION_STRING, nor AzureWebJobsStorage\)/,
    );
    expect(refusal?.message).toMatch(/WEFT_EVENT_GRID_ENDPOINT is not set/);
    expect(refusal?.message).toMatch(/WEFT_KEY_VAULT_URL is not set/);
  });

  it('composes over Azure Tables, Blob storage, Event Grid and Key Vault without any I/O', async () => {
    const { env } = await createTestOperators();
    const api = composeAzureApi({
      ...env,
      WEFT_TABLES_CONNECTION_STRING: UNREACHED,
      WEFT_EVENT_GRID_ENDPOINT: 'https://weft-changes.westeurope-1.eventgrid.azure.net/api/events',
      WEFT_EVENT_GRID_KEY: 'a-topic-key',
      WEFT_KEY_VAULT_URL: 'https://weft-main.vault.azure.net',
    });
    expect(typeof (await api)).toBe('function');
  });

  it('refuses a backend it does not have', async () => {
    const { env } = await createTestOperators();
    await expect(composeAzureApi({ ...env, WEFT_STATE_BACKEND: 'cosmos' })).rejects.toThrow(
      /WEFT_STATE_BACKEND/,
    );
  });
});
