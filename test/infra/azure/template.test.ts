/**
 * The Azure ARM template: `infra/azure/weft.json` is `weftTemplate()`'s
 * output (a stale file fails), every resource the functions need is there
 * with its key properties, every role is scoped to one resource or says why
 * not, the Event Grid subscriptions filter and authenticate as the functions
 * expect, the Function App carries every setting the composition reads, and
 * every function `functions/azure` registers has a trigger wired.
 *
 * No Azure tool runs here (no Bicep, no az, no ARM what-if): the template is
 * read as JSON, and its ARM expressions are checked as far as text can be
 * (balanced, naming declared parameters, variables and resources). The
 * functions' registrations come from the real package: `functions/azure/index.ts`
 * bundled as `deploy.sh` ships it and loaded with a stand-in for the
 * `@azure/functions-core` module the Functions worker provides; until that
 * entry exists, from the `app.http(...)`/`app.timer(...)` calls in the source.
 */
import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AZURE_FUNCTIONS_ENTRY, AZURE_HOST_JSON, bundleAzureFunctions } from '../../../infra/azure/bundle.js';
import {
  type ArmResource,
  AZURE_CONTAINERS,
  AZURE_RELAY_KEY_NAME,
  AZURE_ROLES,
  AZURE_ROUTE_PREFIX,
  AZURE_TABLES,
  AZURE_WEBHOOK_ROUTES,
  REGISTRAR_EVENT_TYPES,
  REGISTRAR_OPERATIONS,
  RESOURCE_CHANGED_TYPE,
  type WebhookFunction,
  weftTemplate,
} from '../../../infra/azure/template.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const run = promisify(execFile);
const template = weftTemplate();
const resources = template.resources;

const ofType = (type: string) => resources.filter((r) => r.type === type);
const one = (type: string): ArmResource => {
  const found = ofType(type);
  expect(found, type).toHaveLength(1);
  return found[0]!;
};
// biome-ignore lint/suspicious/noExplicitAny: a test walks the template's untyped JSON
const props = (r: ArmResource) => r.properties as Record<string, any>;

describe('weft.json', () => {
  it('is what weftTemplate() builds: run npm run synth:azure after changing template.ts', () => {
    const file = JSON.parse(readFileSync(join(ROOT, 'infra', 'azure', 'weft.json'), 'utf8'));
    expect(file).toEqual(JSON.parse(JSON.stringify(template)));
  });
});

/** Splits `a, f(b, c), 'd,e'` at its top-level commas. */
function splitArgs(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "'") quoted = !quoted;
    else if (!quoted && c === '(') depth++;
    else if (!quoted && c === ')') depth--;
    else if (!quoted && depth === 0 && c === ',') {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(text.slice(start).trim());
  return parts.filter((p) => p !== '');
}

/** Every string of the template, with where it is. */
function strings(value: unknown, path = '$'): { path: string; text: string }[] {
  if (typeof value === 'string') return [{ path, text: value }];
  if (Array.isArray(value)) return value.flatMap((v, i) => strings(v, `${path}[${i}]`));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => [
      ...strings(k, `${path}.<key>`),
      ...strings(v, `${path}.${k}`),
    ]);
  }
  return [];
}

const isExpression = (text: string) => text.startsWith('[') && !text.startsWith('[[') && text.endsWith(']');

/** A declared resource's identity as `resourceId()` would name it: type and name segments. */
function resourceKey(type: string, segments: readonly string[]): string {
  return `${type}|${segments.join('|')}`;
}
function declaredKey(r: ArmResource): string {
  const name = r.name.slice(1, -1);
  const format = /^format\('(\{\d\}(?:\/\{\d\})*)', (.*)\)$/.exec(name);
  return resourceKey(r.type, format ? splitArgs(format[2]!) : [name]);
}
/** `resourceId('T', a, b)` or `extensionResourceId(scope, 'T', name)` as a key. */
function referencedKey(expression: string): string | undefined {
  const body = expression.slice(1, -1);
  const plain = /^resourceId\((.*)\)$/.exec(body);
  const extension = /^extensionResourceId\((.*)\)$/.exec(body);
  const args = plain ? splitArgs(plain[1]!) : extension ? splitArgs(extension[1]!).slice(1) : undefined;
  if (!args) return undefined;
  return resourceKey(args[0]!.slice(1, -1), args.slice(1));
}

describe('ARM expressions (checked as text: nothing here evaluates ARM)', () => {
  const all = strings(template);

  it('are balanced, in parentheses and quotes', () => {
    for (const { path, text } of all.filter((s) => isExpression(s.text))) {
      let depth = 0;
      let quoted = false;
      for (const c of text) {
        if (c === "'") quoted = !quoted;
        else if (!quoted && c === '(') depth++;
        else if (!quoted && c === ')') depth--;
        expect(depth, `${path}: ${text}`).toBeGreaterThanOrEqual(0);
      }
      expect({ depth, quoted }, `${path}: ${text}`).toEqual({ depth: 0, quoted: false });
    }
  });

  it('name only declared parameters and variables, and every parameter is used', () => {
    const used = new Set<string>();
    for (const { path, text } of all) {
      for (const [, kind, name] of text.matchAll(/\b(parameters|variables)\('(\w+)'\)/g)) {
        const declared = kind === 'parameters' ? template.parameters : template.variables;
        expect(Object.keys(declared), `${path} names ${kind}('${name}')`).toContain(name);
        if (kind === 'parameters') used.add(name!);
      }
    }
    expect([...used].sort()).toEqual(Object.keys(template.parameters).sort());
  });

  it('depend only on resources this template declares', () => {
    const declared = new Set(resources.map(declaredKey));
    for (const r of resources) {
      for (const dependency of r.dependsOn ?? []) {
        const key = referencedKey(dependency);
        expect(key, `${r.type} ${r.name}: ${dependency}`).toBeDefined();
        expect(declared.has(key!), `${r.type} ${r.name} depends on an undeclared ${dependency}`).toBe(true);
      }
    }
  });

  it('use GA API versions only', () => {
    for (const r of resources) expect(r.apiVersion, r.type).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it('tag every tracked resource weft:control-plane=<name>', () => {
    for (const r of resources.filter((r) => r.location !== undefined)) {
      expect(r.tags, `${r.type} ${r.name}`).toBe("[variables('tags')]");
    }
    expect(template.variables.tags).toEqual({ 'weft:control-plane': "[parameters('name')]" });
  });
});

describe('resources', () => {
  it('a StorageV2 account: TLS 1.2, no public blobs, no shared keys (the identity does everything)', () => {
    const account = one('Microsoft.Storage/storageAccounts');
    expect(account.kind).toBe('StorageV2');
    expect(props(account)).toMatchObject({
      minimumTlsVersion: 'TLS1_2',
      supportsHttpsTrafficOnly: true,
      allowBlobPublicAccess: false,
      allowSharedKeyAccess: false,
      defaultToOAuthAuthentication: true,
    });
  });

  it('the state, join-token, replay and rate-limit tables; state, deployment and dead-letter containers', () => {
    const names = (type: string) => ofType(type).map((r) => declaredKey(r).split('|').at(-1));
    expect(names('Microsoft.Storage/storageAccounts/tableServices/tables')).toEqual(
      Object.values(AZURE_TABLES).map((t) => `'${t}'`),
    );
    expect(AZURE_TABLES.state).toBe('weftstate');
    expect(names('Microsoft.Storage/storageAccounts/blobServices/containers')).toEqual(
      Object.values(AZURE_CONTAINERS).map((c) => `'${c}'`),
    );
    for (const c of ofType('Microsoft.Storage/storageAccounts/blobServices/containers')) {
      expect(props(c).publicAccess).toBe('None');
    }
    expect(props(one('Microsoft.Storage/storageAccounts/blobServices'))).toMatchObject({
      isVersioningEnabled: true,
    });
  });

  it('two user-assigned identities: weft-<name>-functions and weft-<name>-eventgrid', () => {
    expect(ofType('Microsoft.ManagedIdentity/userAssignedIdentities').map((r) => r.name)).toEqual([
      "[variables('identityName')]",
      "[variables('eventGridIdentityName')]",
    ]);
    expect(template.variables.identityName).toBe("[format('weft-{0}-functions', parameters('name'))]");
  });

  it('a Key Vault with RBAC, soft delete and purge protection, and the relay key (EC P-256, sign/verify)', () => {
    expect(props(one('Microsoft.KeyVault/vaults'))).toMatchObject({
      enableRbacAuthorization: true,
      enableSoftDelete: true,
      enablePurgeProtection: true,
      softDeleteRetentionInDays: "[parameters('vaultRetentionDays')]",
      sku: { family: 'A', name: 'standard' },
    });
    const key = one('Microsoft.KeyVault/vaults/keys');
    expect(key.name).toBe(`[format('{0}/{1}', variables('vaultName'), '${AZURE_RELAY_KEY_NAME}')]`);
    expect(props(key)).toMatchObject({ kty: 'EC', curveName: 'P-256', keyOps: ['sign', 'verify'] });
  });

  it('the changes topic weft-<name>-changes: CloudEvents 1.0 in, Entra ID only', () => {
    const topic = one('Microsoft.EventGrid/topics');
    expect(template.variables.topicName).toBe("[format('weft-{0}-changes', parameters('name'))]");
    expect(props(topic)).toMatchObject({ inputSchema: 'CloudEventSchemaV1_0', disableLocalAuth: true });
  });

  it("a system topic on this resource group's ARM events", () => {
    const system = one('Microsoft.EventGrid/systemTopics');
    expect(system.location).toBe('global');
    expect(props(system)).toEqual({
      source: '[resourceGroup().id]',
      topicType: 'Microsoft.Resources.ResourceGroups',
    });
  });

  it('a Linux Function App on Flex Consumption (FC1), Node 22, its identity everywhere, HTTPS and TLS 1.2 only', () => {
    expect(one('Microsoft.Web/serverfarms').sku).toEqual({ name: 'FC1', tier: 'FlexConsumption' });
    const site = one('Microsoft.Web/sites');
    expect(site.kind).toBe('functionapp,linux');
    expect(site.identity).toEqual({
      type: 'UserAssigned',
      userAssignedIdentities: {
        "[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', variables('identityName'))]": {},
      },
    });
    const p = props(site);
    expect(p).toMatchObject({
      httpsOnly: true,
      siteConfig: { minTlsVersion: '1.2', scmMinTlsVersion: '1.2' },
    });
    expect(p.functionAppConfig.runtime).toEqual({ name: 'node', version: '22' });
    expect(p.functionAppConfig.deployment.storage).toMatchObject({
      type: 'blobContainer',
      authentication: { type: 'UserAssignedIdentity' },
    });
    expect(p.functionAppConfig.deployment.storage.value).toContain(`'${AZURE_CONTAINERS.deployment}'`);
    for (const policy of ofType('Microsoft.Web/sites/basicPublishingCredentialsPolicies')) {
      expect(props(policy)).toEqual({ allow: false });
    }
  });

  it('Application Insights on Log Analytics only when monitoring is on, with key auth off', () => {
    for (const type of ['Microsoft.OperationalInsights/workspaces', 'Microsoft.Insights/components']) {
      expect(one(type).condition).toBe("[parameters('monitoring')]");
    }
    expect(props(one('Microsoft.Insights/components')).DisableLocalAuth).toBe(true);
  });

  it('outputs the API URL, topic endpoint and vault URL', () => {
    expect(template.outputs.apiUrl!.value).toBe(
      `[format('https://{0}/${AZURE_ROUTE_PREFIX}', reference(resourceId('Microsoft.Web/sites', variables('appName')), '2024-04-01').defaultHostName)]`,
    );
    expect(template.outputs.topicEndpoint!.value).toMatch(
      /reference\(resourceId\('Microsoft\.EventGrid\/topics'.*\.endpoint\]$/,
    );
    expect(template.outputs.vaultUrl!.value).toMatch(
      /reference\(resourceId\('Microsoft\.KeyVault\/vaults'.*\.vaultUri\]$/,
    );
  });
});

describe('role assignments', () => {
  const assignments = ofType('Microsoft.Authorization/roleAssignments');
  const roleName = (r: ArmResource) =>
    Object.entries(AZURE_ROLES).find(([, id]) => String(props(r).roleDefinitionId).includes(id))?.[0];
  const scopeType = (r: ArmResource) => (r.scope ? referencedKey(r.scope)?.split('|')[0] : 'resource group');

  it('are exactly these: each role on one resource, Reader on the resource group', () => {
    const grants = assignments.map((r) => ({
      role: roleName(r),
      scope: scopeType(r),
      principal: String(props(r).principalId).includes('eventGridIdentityName') ? 'eventgrid' : 'functions',
    }));
    expect(grants).toEqual([
      { role: 'storageBlobDataOwner', scope: 'Microsoft.Storage/storageAccounts', principal: 'functions' },
      {
        role: 'storageTableDataContributor',
        scope: 'Microsoft.Storage/storageAccounts',
        principal: 'functions',
      },
      { role: 'eventGridDataSender', scope: 'Microsoft.EventGrid/topics', principal: 'functions' },
      { role: 'keyVaultCryptoOfficer', scope: 'Microsoft.KeyVault/vaults', principal: 'functions' },
      { role: 'reader', scope: 'resource group', principal: 'functions' },
      { role: 'monitoringMetricsPublisher', scope: 'Microsoft.Insights/components', principal: 'functions' },
      {
        role: 'storageBlobDataContributor',
        scope: 'Microsoft.Storage/storageAccounts/blobServices/containers',
        principal: 'eventgrid',
      },
    ]);
  });

  it('scope each to a single resource this template declares, or say why not', () => {
    const declared = new Set(resources.map(declaredKey));
    for (const r of assignments) {
      const description = String(props(r).description ?? '');
      expect(description, r.name).toMatch(/^weft|^Event Grid/);
      if (r.scope) {
        expect(declared.has(referencedKey(r.scope) ?? ''), `${roleName(r)} on ${r.scope}`).toBe(true);
      } else {
        expect(description, `${roleName(r)} on the resource group`).toMatch(
          /reason for the resource-group scope: \w+/,
        );
      }
      expect(JSON.stringify(r), 'nothing subscription-wide').not.toMatch(
        /subscription\(\)\.id|managementGroup|tenant\(\)/,
      );
    }
  });

  it('name their principal and stay stable across deployments', () => {
    for (const r of assignments) {
      expect(r.name).toMatch(/^\[guid\(/);
      expect(props(r).principalType).toBe('ServicePrincipal');
      expect(props(r).principalId).toMatch(
        /^\[reference\(resourceId\('Microsoft\.ManagedIdentity\/userAssignedIdentities'/,
      );
    }
  });
});

describe('event subscriptions (stage 2: deploySubscriptions)', () => {
  const compile = resources.find((r) => r.name.includes("'weft-compile'"))!;
  const relay = resources.find((r) => r.name.includes("'weft-relay'"))!;
  const registrar = resources.find((r) => r.name.includes("'weft-registrar'"))!;
  const subs = [compile, relay, registrar];

  it('exist only in stage 2, after the Function App and the dead-letter role', () => {
    for (const s of subs) {
      expect(s.condition).toBe("[parameters('deploySubscriptions')]");
      expect(s.dependsOn?.some((d) => d.includes("'Microsoft.Web/sites'"))).toBe(true);
      expect(s.dependsOn?.some((d) => d.includes('roleAssignments'))).toBe(true);
    }
    expect(compile.type).toBe('Microsoft.EventGrid/topics/eventSubscriptions');
    expect(relay.type).toBe('Microsoft.EventGrid/topics/eventSubscriptions');
    expect(registrar.type).toBe('Microsoft.EventGrid/systemTopics/eventSubscriptions');
  });

  it('post CloudEvents 1.0 one at a time to the webhooks, with Entra ID auth or, without an app, the secret', () => {
    for (const [s, fn] of [
      [compile, 'weftCompile'],
      [relay, 'weftRelay'],
      [registrar, 'weftRegistrar'],
    ] as const) {
      const p = props(s!);
      expect(p.eventDeliverySchema).toBe('CloudEventSchemaV1_0');
      expect(p.destination.endpointType).toBe('WebHook');
      const d = p.destination.properties;
      expect(d.endpointUrl).toBe(
        `[format('https://{0}/${AZURE_ROUTE_PREFIX}/${AZURE_WEBHOOK_ROUTES[fn]}', reference(resourceId('Microsoft.Web/sites', variables('appName')), '2024-04-01').defaultHostName)]`,
      );
      expect(d.maxEventsPerBatch).toBe(1);
      expect(d.azureActiveDirectoryTenantId).toBe(
        "[if(empty(parameters('pushAudience')), null(), parameters('pushTenantId'))]",
      );
      expect(d.azureActiveDirectoryApplicationIdOrUri).toBe(
        "[if(empty(parameters('pushAudience')), null(), parameters('pushAudience'))]",
      );
      expect(d.deliveryAttributeMappings).toBe(
        "[if(empty(parameters('pushAudience')), variables('secretDelivery'), createArray())]",
      );
      expect(p.retryPolicy).toEqual({ maxDeliveryAttempts: 8, eventTimeToLiveInMinutes: 120 });
      expect(p.deadLetterWithResourceIdentity).toEqual({
        identity: {
          type: 'UserAssigned',
          userAssignedIdentity:
            "[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', variables('eventGridIdentityName'))]",
        },
        deadLetterDestination: {
          endpointType: 'StorageBlob',
          properties: {
            resourceId: "[resourceId('Microsoft.Storage/storageAccounts', variables('storageName'))]",
            blobContainerName: AZURE_CONTAINERS.deadLetter,
          },
        },
      });
    }
    expect(template.variables.secretDelivery).toEqual([
      {
        name: 'x-weft-delivery-secret',
        type: 'Static',
        properties: { value: "[parameters('pushSecret')]", isSecret: true },
      },
    ]);
  });

  it('take only weft change events on the changes topic', () => {
    for (const s of [compile, relay]) {
      expect(props(s).filter).toEqual({ includedEventTypes: [RESOURCE_CHANGED_TYPE] });
    }
  });

  it('take only VM and tag writes and VM deletes from the resource group', () => {
    expect(props(registrar).filter).toEqual({
      includedEventTypes: [
        'Microsoft.Resources.ResourceWriteSuccess',
        'Microsoft.Resources.ResourceDeleteSuccess',
      ],
      advancedFilters: [
        {
          operatorType: 'StringIn',
          key: 'data.operationName',
          values: [
            'Microsoft.Resources/tags/write',
            'Microsoft.Compute/virtualMachines/write',
            'Microsoft.Compute/virtualMachines/delete',
          ],
        },
      ],
    });
    expect([...REGISTRAR_EVENT_TYPES, ...REGISTRAR_OPERATIONS]).toHaveLength(5);
  });
});

/** Quoted `WEFT_*`, `AZURE_*` and `AzureWebJobs*` names in these files: what the Azure composition reads. */
function envNamesRead(): Set<string> {
  const files = [
    ...readdirSync(join(ROOT, 'functions', 'azure'))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => join(ROOT, 'functions', 'azure', f)),
    // The cloud-agnostic part every composition runs.
    ...['startup.ts', 'cloud-config.ts', 'compose-control-plane.ts', 'push-auth.ts'].map((f) =>
      join(ROOT, 'functions', 'control-plane', f),
    ),
  ].filter(existsSync);
  const names = new Set<string>();
  for (const file of files) {
    for (const [, name] of readFileSync(file, 'utf8').matchAll(
      /['"`]((?:WEFT|AZURE)_[A-Z0-9_]+|AzureWebJobs\w*)['"`]/g,
    )) {
      names.add(name!);
    }
  }
  return names;
}

/** Variables the composition reads that this deployment deliberately leaves unset. */
const NOT_SET: Readonly<Record<string, string>> = {
  AzureWebJobsStorage:
    'a connection string; the host and weft use the identity (AzureWebJobsStorage__accountName)',
  WEFT_TABLES_CONNECTION_STRING: 'a connection string; WEFT_STORAGE_ACCOUNT with the identity replaces it',
  WEFT_EVENT_GRID_KEY: "the topic's local (key) auth is off; the identity is an EventGrid Data Sender",
  WEFT_OPERATOR_JWKS: 'the inline key set; WEFT_OPERATOR_JWKS_URL is set instead',
  WEFT_STATE_BACKEND: 'the default (tables) is the one deployed',
};

/** The contract's Azure settings (the composition may not read them all yet). */
const CONTRACT_SETTINGS = [
  'WEFT_TABLE_NAME',
  'WEFT_BLOB_CONTAINER',
  'WEFT_EVENT_GRID_ENDPOINT',
  'WEFT_KEY_VAULT_URL',
  'WEFT_RELAY_KEY_NAME',
  'WEFT_PEERS',
  'WEFT_ROOT_CERT',
  'WEFT_PUSH_TENANT_ID',
  'WEFT_PUSH_AUDIENCE',
  'WEFT_PUSH_SECRET',
  'WEFT_MSI_AUDIENCE',
  'WEFT_AZURE_SUBSCRIPTION_ID',
  'WEFT_AZURE_RESOURCE_GROUP',
  'WEFT_DEFAULT_ENVIRONMENT',
  'WEFT_OPERATOR_ISSUER',
  'WEFT_OPERATOR_AUDIENCE',
  'WEFT_OPERATOR_JWKS_URL',
  'WEFT_STORAGE_ACCOUNT',
  'AzureWebJobsStorage__accountName',
  'AZURE_CLIENT_ID',
];

describe('app settings', () => {
  const settings = props(one('Microsoft.Web/sites')).siteConfig.appSettings as {
    name: string;
    value: string;
  }[];
  const byName = Object.fromEntries(settings.map((s) => [s.name, s.value]));

  it('set every variable the Azure composition reads and the contract lists', () => {
    const needed = new Set([...envNamesRead(), ...CONTRACT_SETTINGS]);
    for (const name of needed) {
      if (name in NOT_SET) continue;
      expect(Object.keys(byName), `${name} is read by functions/azure but not set by the template`).toContain(
        name,
      );
    }
    for (const name of Object.keys(NOT_SET)) expect(byName[name], name).toBeUndefined();
  });

  it('point at the deployed resources, as the identity', () => {
    const clientId =
      "[reference(resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', variables('identityName')), '2023-01-31').clientId]";
    expect(byName).toMatchObject({
      AzureWebJobsStorage__accountName: "[variables('storageName')]",
      AzureWebJobsStorage__credential: 'managedidentity',
      AzureWebJobsStorage__clientId: clientId,
      AZURE_CLIENT_ID: clientId,
      WEFT_STORAGE_ACCOUNT: "[variables('storageName')]",
      WEFT_TABLE_NAME: 'weftstate',
      WEFT_BLOB_CONTAINER: 'weft',
      WEFT_RELAY_KEY_NAME: AZURE_RELAY_KEY_NAME,
      WEFT_AZURE_SUBSCRIPTION_ID: '[subscription().subscriptionId]',
      WEFT_AZURE_RESOURCE_GROUP: '[resourceGroup().name]',
      WEFT_PUSH_SECRET: "[if(empty(parameters('pushAudience')), parameters('pushSecret'), '')]",
    });
    expect(byName.WEFT_EVENT_GRID_ENDPOINT).toMatch(/Microsoft\.EventGrid\/topics.*\.endpoint\]$/);
    expect(byName.WEFT_KEY_VAULT_URL).toMatch(/Microsoft\.KeyVault\/vaults.*\.vaultUri\]$/);
  });

  it('leave out what Flex Consumption refuses (it takes the runtime from functionAppConfig)', () => {
    for (const name of [
      'FUNCTIONS_WORKER_RUNTIME',
      'FUNCTIONS_EXTENSION_VERSION',
      'WEBSITE_NODE_DEFAULT_VERSION',
      'WEBSITE_RUN_FROM_PACKAGE',
    ]) {
      expect(byName[name], name).toBeUndefined();
    }
  });
});

/** One function as the Functions host would see it. */
interface Registration {
  readonly name: string;
  readonly trigger: string;
  readonly route?: string;
  readonly methods?: readonly string[];
  readonly authLevel?: string;
  readonly schedule?: string;
}

/** Loads the bundle with a stand-in `@azure/functions-core` that records each registration. */
async function registrationsFromBundle(dir: string, entry?: string): Promise<Registration[]> {
  const { zip } = await bundleAzureFunctions({ outDir: dir, ...(entry && { entry }) });
  expect(existsSync(zip)).toBe(true);
  const core = join(dir, 'package', 'node_modules', '@azure', 'functions-core');
  mkdirSync(core, { recursive: true });
  const out = join(dir, 'registered.json');
  writeFileSync(
    join(core, 'index.js'),
    `const fs = require('node:fs'); const seen = [];
module.exports = {
  setProgrammingModel() {}, log() {}, registerHook() { return { dispose() {} }; },
  registerFunction(metadata) { seen.push(metadata); fs.writeFileSync(${JSON.stringify(out)}, JSON.stringify(seen)); return { dispose() {} }; },
};`,
  );
  await run(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `await import(${JSON.stringify(pathToFileURL(join(dir, 'package', 'index.mjs')).href)});`,
    ],
    {
      env: { PATH: process.env.PATH, METADATA_SERVER_DETECTION: 'none' },
    },
  );
  const seen = JSON.parse(readFileSync(out, 'utf8')) as {
    name: string;
    bindings: Record<string, { type: string; direction: string } & Record<string, never>>;
  }[];
  return seen.map(({ name, bindings }) => {
    const trigger = Object.values(bindings).find((b) => b.direction === 'in' && /trigger$/i.test(b.type))!;
    return {
      name,
      trigger: trigger.type,
      route: trigger.route,
      methods: trigger.methods,
      authLevel: trigger.authLevel,
      schedule: trigger.schedule,
    };
  });
}

/** The `app.<kind>('weft…', { … })` calls in functions/azure/*.ts, read as text. */
function registrationsFromSource(): Registration[] {
  const found: Registration[] = [];
  const dir = join(ROOT, 'functions', 'azure');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const source = readFileSync(join(dir, file), 'utf8');
    const constant = (ref: string) =>
      ref.startsWith("'") ? ref.slice(1, -1) : new RegExp(`const ${ref}\\s*=\\s*'([^']*)'`).exec(source)?.[1];
    for (const call of source.matchAll(/\bapp\.(http|timer|eventGrid|get|post)\(\s*'(weft\w+)'\s*,\s*\{/g)) {
      let depth = 1;
      let end = call.index + call[0].length;
      while (depth > 0 && end < source.length) depth += { '{': 1, '}': -1 }[source[end++]!] ?? 0;
      const options = source.slice(call.index + call[0].length, end);
      const kind = call[1]!;
      found.push({
        name: call[2]!,
        trigger:
          kind === 'timer' ? 'timerTrigger' : kind === 'eventGrid' ? 'eventGridTrigger' : 'httpTrigger',
        route: /\broute:\s*'([^']*)'/.exec(options)?.[1],
        methods:
          kind === 'get' || kind === 'post'
            ? [kind.toUpperCase()]
            : /\bmethods:\s*\[([^\]]*)\]/
                .exec(options)?.[1]
                ?.match(/'(\w+)'/g)
                ?.map((m) => m.slice(1, -1)),
        authLevel: /\bauthLevel:\s*'(\w+)'/.exec(options)?.[1],
        schedule: constant(/\bschedule:\s*('[^']*'|\w+)/.exec(options)?.[1] ?? ''),
      });
    }
  }
  return found;
}

/** Does an ASP.NET-style route template (`a/{b}/{*c:regex(...)}`) match `path`? */
function routeMatches(template: string, path: string): boolean {
  // Split at the slashes outside {...}: a regex constraint may contain some.
  const parts = template.match(/(?:\{[^}]*\}|[^/{])+/g) ?? [];
  const segments = path.split('/').filter(Boolean);
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const param = /^\{(\*{1,2})?(\w+)(\?)?(?::(.*))?\}$/.exec(part);
    const regex = param?.[4] && /^regex\((.*)\)$/.exec(param[4])?.[1];
    const accepts = (value: string) => !regex || new RegExp(regex, 'i').test(value);
    if (param?.[1]) return accepts(segments.slice(i).join('/'));
    const segment = segments[i];
    if (segment === undefined)
      return Boolean(param?.[3]) && parts.slice(i).every((p) => /\?\}$|^\{\*/.test(p));
    if (!param && part.toLowerCase() !== segment.toLowerCase()) return false;
    if (param && !accepts(segment)) return false;
  }
  return parts.length === segments.length;
}

/** Every function the contract lists, and how each is triggered. */
const CONTRACT_FUNCTIONS: Readonly<Record<string, 'public' | 'webhook' | 'timer'>> = {
  weftApi: 'public',
  weftIngest: 'public',
  weftCompile: 'webhook',
  weftRelay: 'webhook',
  weftRegistrar: 'webhook',
  weftSweep: 'timer',
  weftReconcile: 'timer',
};
const TIMER_MINUTES: Readonly<Record<string, number>> = { weftSweep: 1, weftReconcile: 15 };

// NCRONTAB with seconds: '0 */15 * * * *' runs every 15 minutes, '0 * * * * *' every minute.
function everyMinutes(schedule: string): number | undefined {
  const fields = schedule.trim().split(/\s+/);
  if (fields.length !== 6 || fields[0] !== '0' || fields.slice(2).some((f) => f !== '*')) return undefined;
  const minute = fields[1]!;
  if (minute === '*') return 1;
  return /^\*\/(\d+)$/.test(minute) ? Number(minute.slice(2)) : undefined;
}

describe('every registered function has a trigger wired', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weft-azure-functions-'));
  let registrations: Registration[];
  const entryExists = existsSync(join(ROOT, AZURE_FUNCTIONS_ENTRY));

  beforeAll(async () => {
    registrations = entryExists ? await registrationsFromBundle(dir) : registrationsFromSource();
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const webhookOf = (name: string) =>
    resources.find(
      (r) =>
        r.type.endsWith('/eventSubscriptions') &&
        AZURE_WEBHOOK_ROUTES[name as WebhookFunction] !== undefined &&
        props(r).destination.properties.endpointUrl.includes(
          `/${AZURE_ROUTE_PREFIX}/${AZURE_WEBHOOK_ROUTES[name as WebhookFunction]}'`,
        ),
    );

  it('registers every function the contract lists, once (from the bundle once functions/azure/index.ts exists)', () => {
    const names = registrations.map((r) => r.name);
    expect(new Set(names).size, 'a function registered twice').toBe(names.length);
    for (const name of names)
      expect(Object.keys(CONTRACT_FUNCTIONS), `${name} is not in the contract`).toContain(name);
    if (entryExists) expect(names.sort()).toEqual(Object.keys(CONTRACT_FUNCTIONS).sort());
  });

  it('webhooks: an event subscription posts to the route the function serves, with POST and OPTIONS (the CloudEvents handshake)', () => {
    for (const name of Object.keys(CONTRACT_FUNCTIONS).filter((n) => CONTRACT_FUNCTIONS[n] === 'webhook')) {
      expect(webhookOf(name), `no event subscription posts to ${name}`).toBeDefined();
      const registered = registrations.find((r) => r.name === name);
      if (!registered) continue; // not yet written: the template side alone is checked
      expect(
        registered.trigger,
        `${name} must be an HTTP webhook (Event Grid delivers with Entra ID auth)`,
      ).toBe('httpTrigger');
      expect(registered.route ?? name, `${name}'s route`).toBe(AZURE_WEBHOOK_ROUTES[name as WebhookFunction]);
      expect(registered.methods ?? ['GET', 'POST'], `${name}'s methods`).toEqual(
        expect.arrayContaining(['POST', 'OPTIONS']),
      );
      expect(registered.authLevel ?? 'anonymous', `${name} checks its callers itself`).toBe('anonymous');
    }
  });

  it('public HTTP functions: anonymous (they authenticate every request themselves)', () => {
    for (const r of registrations.filter((r) => CONTRACT_FUNCTIONS[r.name] === 'public')) {
      expect(r.trigger, r.name).toBe('httpTrigger');
      expect(r.authLevel ?? 'anonymous', r.name).toBe('anonymous');
    }
  });

  it('timers: in code, sweep every minute and reconcile every 15', () => {
    for (const r of registrations.filter((r) => CONTRACT_FUNCTIONS[r.name] === 'timer')) {
      expect(r.trigger, r.name).toBe('timerTrigger');
      expect(everyMinutes(r.schedule ?? ''), `${r.name}: ${r.schedule}`).toBe(TIMER_MINUTES[r.name]);
    }
  });

  it("no HTTP function's route catches another's path (the host tries routes in function-name order, not by precedence)", () => {
    // Azure/azure-functions-nodejs-library#300, Azure/azure-functions-host#9876: a catch-all in
    // weftApi (first by name) would take Event Grid's posts to the webhooks.
    const http = registrations.filter((r) => r.trigger === 'httpTrigger');
    for (const target of http.filter(
      (r) => CONTRACT_FUNCTIONS[r.name] !== 'public' || r.name === 'weftIngest',
    )) {
      const path = (target.route ?? target.name).replace(/\{\*?\*?(\w+)[^}]*\}/g, 'x');
      for (const other of http.filter((r) => r !== target)) {
        expect(
          routeMatches(other.route ?? other.name, path),
          `${other.name}'s route ${other.route} catches ${target.name}'s /${path}`,
        ).toBe(false);
      }
    }
  });

  it('the host config puts HTTP routes below the prefix the template assumes', () => {
    expect(AZURE_HOST_JSON.extensions.http.routePrefix).toBe(AZURE_ROUTE_PREFIX);
  });
});

describe('the registrations check above', () => {
  it('reads what a bundled package registers, as the Functions worker would receive it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weft-azure-fixture-'));
    try {
      const entry = join(dir, 'entry.mts');
      writeFileSync(
        entry,
        `import functions from '@azure/functions';
functions.app.http('weftApi', { methods: ['GET'], authLevel: 'anonymous', route: '{*path:regex(^(?!events/))}', handler: async () => ({}) });
functions.app.http('weftCompile', { methods: ['POST', 'OPTIONS'], route: 'events/compile', handler: async () => ({}) });
functions.app.timer('weftSweep', { schedule: '0 */1 * * * *', handler: async () => {} });
`,
      );
      expect(await registrationsFromBundle(dir, entry)).toEqual([
        {
          name: 'weftApi',
          trigger: 'httpTrigger',
          route: '{*path:regex(^(?!events/))}',
          methods: ['GET'],
          authLevel: 'anonymous',
          schedule: undefined,
        },
        {
          name: 'weftCompile',
          trigger: 'httpTrigger',
          route: 'events/compile',
          methods: ['POST', 'OPTIONS'],
          authLevel: 'anonymous',
          schedule: undefined,
        },
        { name: 'weftSweep', trigger: 'timerTrigger', schedule: '0 */1 * * * *' },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});

describe('routeMatches (the route check above)', () => {
  it('follows literal, parameter, optional and catch-all segments and regex constraints', () => {
    expect(routeMatches('{*path}', 'events/compile')).toBe(true);
    expect(routeMatches('{*path:regex(^(?!events/))}', 'events/compile')).toBe(false);
    expect(routeMatches('{*path:regex(^(?!events/))}', 'v1/resources')).toBe(true);
    expect(routeMatches('events/compile', 'events/compile')).toBe(true);
    expect(routeMatches('events/compile', 'events/relay')).toBe(false);
    expect(routeMatches('v1/replication/{*path}', 'events/relay')).toBe(false);
    expect(routeMatches('events/{name}', 'events/relay')).toBe(true);
    expect(routeMatches('events/{name?}', 'events')).toBe(true);
  });
});
