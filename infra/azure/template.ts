/**
 * weft's control plane on Azure as an ARM template, built in TypeScript.
 *
 * Bicep would be the idiomatic source, but its CLI is not installed where
 * weft is built and tested, and a Bicep file can only be checked by
 * compiling it. An object built here is what `generate.ts` writes to
 * `weft.json` (the file `az deployment group create` deploys) and what the
 * tests read, resource by resource, without any Azure tool.
 *
 * One Function App on the Flex Consumption plan (FC1, Linux, Node 22) runs
 * all seven functions under one user-assigned identity; every role that
 * identity holds is scoped to one resource, except `Reader` on the resource
 * group, whose reason is in its description. Event subscriptions are a
 * second stage (`deploySubscriptions`): Event Grid validates a webhook when
 * the subscription is created, so the code must be deployed first.
 *
 * @module
 */

/** An ARM resource, as the template declares it. */
export interface ArmResource {
  readonly type: string;
  readonly apiVersion: string;
  readonly name: string;
  readonly condition?: string;
  readonly scope?: string;
  readonly location?: string;
  readonly kind?: string;
  readonly sku?: Readonly<Record<string, unknown>>;
  readonly identity?: Readonly<Record<string, unknown>>;
  readonly tags?: unknown;
  readonly dependsOn?: readonly string[];
  readonly properties?: Readonly<Record<string, unknown>>;
}

/** An ARM deployment template (language version 1.0). */
export interface ArmTemplate {
  readonly $schema: string;
  readonly contentVersion: string;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly parameters: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly variables: Readonly<Record<string, unknown>>;
  readonly resources: readonly ArmResource[];
  readonly outputs: Readonly<Record<string, { readonly type: string; readonly value: unknown }>>;
}

/** The functions Event Grid delivers to, each by webhook. */
export type WebhookFunction = 'weftCompile' | 'weftRelay' | 'weftRegistrar';

/** Options of {@link weftTemplate}. */
export interface WeftTemplateOptions {
  /**
   * Each webhook's HTTP route, below the host's `api/` prefix; must match the
   * function's `route` in `functions/azure` (the tests compare them).
   * @default {@link AZURE_WEBHOOK_ROUTES}
   */
  readonly webhookRoutes?: Partial<Record<WebhookFunction, string>>;
}

/** Where Event Grid posts: `https://<app>/api/<route>`. */
export const AZURE_WEBHOOK_ROUTES: Readonly<Record<WebhookFunction, string>> = {
  weftCompile: 'events/compile',
  weftRelay: 'events/relay',
  weftRegistrar: 'events/registrar',
};

/** The Functions host's HTTP route prefix (`host.json`, see `bundle.ts`). */
export const AZURE_ROUTE_PREFIX = 'api';

/** Tables: state (`WEFT_TABLE_NAME`), and the identity adapters' own. */
export const AZURE_TABLES = {
  state: 'weftstate',
  joinTokens: 'weftjointokens',
  replay: 'weftreplay',
  rateLimits: 'weftratelimits',
} as const;

/** Blob containers: state (`WEFT_BLOB_CONTAINER`), code packages, Event Grid's dead letters. */
export const AZURE_CONTAINERS = {
  state: 'weft',
  deployment: 'deployments',
  deadLetter: 'deadletter',
} as const;

/** The relay key's name in the vault. CA keys are `weft-*` (KeyVaultKeyRing), so they never collide. */
export const AZURE_RELAY_KEY_NAME = 'relay';

/** The CloudEvent type weft publishes for every write (`shared/events/resource-changed.ts`). */
export const RESOURCE_CHANGED_TYPE = 'dev.weft.resource.changed';

/** Resource-group events the registrar takes (Azure Resource Manager's, filtered on `data.operationName`). */
export const REGISTRAR_EVENT_TYPES = [
  'Microsoft.Resources.ResourceWriteSuccess',
  'Microsoft.Resources.ResourceDeleteSuccess',
] as const;
export const REGISTRAR_OPERATIONS = [
  'Microsoft.Resources/tags/write',
  'Microsoft.Compute/virtualMachines/write',
  'Microsoft.Compute/virtualMachines/delete',
] as const;

/** Built-in role definition IDs (the same in every tenant). */
export const AZURE_ROLES = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
  eventGridDataSender: 'd5a91429-5739-47e2-a06b-3470a27159e7',
  keyVaultCryptoOfficer: '14b46e9e-c2b7-41b4-b07b-48a6ebf60603',
  reader: 'acdd72a7-3385-48ef-bd42-f606fba81ae7',
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb',
} as const;

/** API versions, one per resource provider area (all GA). */
export const API_VERSIONS = {
  storage: '2024-01-01',
  identity: '2023-01-31',
  authorization: '2022-04-01',
  keyVault: '2024-11-01',
  eventGrid: '2025-02-15',
  web: '2024-04-01',
  logs: '2023-09-01',
  insights: '2020-02-02',
} as const;

const STORAGE = 'Microsoft.Storage/storageAccounts';
const CONTAINER = `${STORAGE}/blobServices/containers`;
const TABLE = `${STORAGE}/tableServices/tables`;
const IDENTITY = 'Microsoft.ManagedIdentity/userAssignedIdentities';
const VAULT = 'Microsoft.KeyVault/vaults';
const TOPIC = 'Microsoft.EventGrid/topics';
const SYSTEM_TOPIC = 'Microsoft.EventGrid/systemTopics';
const SITE = 'Microsoft.Web/sites';
const INSIGHTS = 'Microsoft.Insights/components';
const ROLE_ASSIGNMENT = 'Microsoft.Authorization/roleAssignments';

// ARM expression helpers: `[...]` marks an expression, inner parts are composed unbracketed.
const x = (expression: string) => `[${expression}]`;
const p = (name: string) => `parameters('${name}')`;
const v = (name: string) => `variables('${name}')`;
const q = (text: string) => `'${text}'`;
const rid = (type: string, ...names: string[]) => `resourceId('${type}', ${names.join(', ')})`;
const ref = (type: string, name: string, apiVersion: string) =>
  `reference(${rid(type, name)}, '${apiVersion}')`;
const child = (...parts: string[]) =>
  x(`format('${parts.map((_, i) => `{${i}}`).join('/')}', ${parts.join(', ')})`);

const storageId = rid(STORAGE, v('storageName'));
const identityId = rid(IDENTITY, v('identityName'));
const eventGridIdentityId = rid(IDENTITY, v('eventGridIdentityName'));
const containerId = (name: string) => rid(CONTAINER, v('storageName'), q('default'), q(name));
const identityRef = (field: 'clientId' | 'principalId', id = identityId) =>
  `reference(${id}, '${API_VERSIONS.identity}').${field}`;
const hostName = `${ref(SITE, v('appName'), API_VERSIONS.web)}.defaultHostName`;
const webhookUrl = (route: string) => `format('https://{0}/${AZURE_ROUTE_PREFIX}/${route}', ${hostName})`;

const PARAMETERS: ArmTemplate['parameters'] = {
  name: {
    type: 'string',
    defaultValue: 'main',
    minLength: 1,
    maxLength: 10,
    metadata: {
      description:
        'Lower-case letters and digits. Names every resource (weft-<name>-functions, weft-<name>-changes, ...) and is the value of the weft:control-plane tag.',
    },
  },
  location: {
    type: 'string',
    defaultValue: x('resourceGroup().location'),
    metadata: { description: 'A region that offers the Flex Consumption plan.' },
  },
  operatorIssuer: { type: 'string', metadata: { description: 'iss of operator tokens (https).' } },
  operatorAudience: { type: 'string', metadata: { description: 'aud operator tokens carry.' } },
  operatorJwksUrl: { type: 'string', metadata: { description: "The issuer's JWKS (https)." } },
  operatorRoleClaim: {
    type: 'string',
    defaultValue: '',
    metadata: { description: 'Claim holding operator roles (WEFT_OPERATOR_ROLE_CLAIM); empty: the default.' },
  },
  peers: {
    type: 'string',
    defaultValue: '[]',
    metadata: { description: 'Peer clouds as JSON [{"cloud","url","keys":[JWK with kid]}] (WEFT_PEERS).' },
  },
  rootCert: {
    type: 'string',
    defaultValue: '',
    metadata: {
      description:
        "A federated mesh's root certificate, PEM (WEFT_ROOT_CERT); empty: the CA keeps its own root in Key Vault.",
    },
  },
  pushTenantId: {
    type: 'string',
    defaultValue: x('subscription().tenantId'),
    metadata: { description: 'Entra tenant of the push audience app (WEFT_PUSH_TENANT_ID).' },
  },
  pushAudience: {
    type: 'string',
    defaultValue: '',
    metadata: {
      description:
        'App ID URI of the Entra app Event Grid gets delivery tokens for (WEFT_PUSH_AUDIENCE). Empty: deliveries carry pushSecret instead.',
    },
  },
  pushSecret: {
    type: 'securestring',
    defaultValue: '',
    metadata: {
      description:
        'Used only without pushAudience: a secret (32+ characters) Event Grid sends in x-weft-delivery-secret (WEFT_PUSH_SECRET).',
    },
  },
  msiAudience: {
    type: 'string',
    defaultValue: '',
    metadata: {
      description:
        'Audience of agents’ managed identity tokens (WEFT_MSI_AUDIENCE); empty: azure_msi attestation off.',
    },
  },
  defaultEnvironment: {
    type: 'string',
    defaultValue: '',
    metadata: {
      description:
        'Environment of tag-registered Workloads without weft:environment; empty: azure-<location>.',
    },
  },
  deploySubscriptions: {
    type: 'bool',
    defaultValue: false,
    metadata: {
      description:
        'Stage 2: create the Event Grid subscriptions. Their webhooks are validated on creation, so deploy the code first (deploy.sh does).',
    },
  },
  monitoring: {
    type: 'bool',
    defaultValue: true,
    metadata: { description: 'Application Insights on a Log Analytics workspace (billed per GB ingested).' },
  },
  storageSku: {
    type: 'string',
    defaultValue: 'Standard_LRS',
    allowedValues: ['Standard_LRS', 'Standard_ZRS', 'Standard_GRS', 'Standard_GZRS'],
    metadata: { description: 'Redundancy of the storage account that holds the state.' },
  },
  instanceMemoryMB: {
    type: 'int',
    defaultValue: 2048,
    allowedValues: [512, 2048, 4096],
    metadata: { description: 'Flex Consumption instance size.' },
  },
  maximumInstanceCount: {
    type: 'int',
    defaultValue: 40,
    minValue: 40,
    maxValue: 1000,
    metadata: { description: 'Flex Consumption scale-out limit.' },
  },
  vaultRetentionDays: {
    type: 'int',
    defaultValue: 90,
    minValue: 7,
    maxValue: 90,
    metadata: {
      description:
        'Soft-delete retention of the vault; with purge protection its name stays reserved this long after deletion. Fixed at creation.',
    },
  },
  recoverVault: {
    type: 'bool',
    defaultValue: false,
    metadata: {
      description:
        'Recover the soft-deleted vault of a torn-down deployment of the same name and group (its keys come back too).',
    },
  },
};

const VARIABLES: ArmTemplate['variables'] = {
  suffix: x('uniqueString(resourceGroup().id)'),
  tags: { 'weft:control-plane': x(p('name')) },
  storageName: x(`take(toLower(format('weft{0}{1}', ${p('name')}, ${v('suffix')})), 24)`),
  vaultName: x(`format('weft-{0}-{1}', ${p('name')}, take(${v('suffix')}, 8))`),
  appName: x(`format('weft-{0}-{1}', ${p('name')}, ${v('suffix')})`),
  planName: x(`format('weft-{0}-plan', ${p('name')})`),
  identityName: x(`format('weft-{0}-functions', ${p('name')})`),
  eventGridIdentityName: x(`format('weft-{0}-eventgrid', ${p('name')})`),
  topicName: x(`format('weft-{0}-changes', ${p('name')})`),
  systemTopicName: x(`format('weft-{0}-resources', ${p('name')})`),
  workspaceName: x(`format('weft-{0}-logs', ${p('name')})`),
  insightsName: x(`format('weft-{0}-insights', ${p('name')})`),
  defaultEnvironment: x(
    `if(empty(${p('defaultEnvironment')}), format('azure-{0}', ${p('location')}), ${p('defaultEnvironment')})`,
  ),
  secretDelivery: [
    {
      name: 'x-weft-delivery-secret',
      type: 'Static',
      properties: { value: x(p('pushSecret')), isSecret: true },
    },
  ],
};

const tags = x(v('tags'));

function storage(): ArmResource[] {
  const account: ArmResource = {
    type: STORAGE,
    apiVersion: API_VERSIONS.storage,
    name: x(v('storageName')),
    location: x(p('location')),
    tags,
    kind: 'StorageV2',
    sku: { name: x(p('storageSku')) },
    properties: {
      accessTier: 'Hot',
      minimumTlsVersion: 'TLS1_2',
      supportsHttpsTrafficOnly: true,
      allowBlobPublicAccess: false,
      // The host (AzureWebJobsStorage__credential), the deployment package and weft's adapters
      // all use the identity, so no account key is needed or accepted.
      allowSharedKeyAccess: false,
      defaultToOAuthAuthentication: true,
      allowCrossTenantReplication: false,
      publicNetworkAccess: 'Enabled',
      networkAcls: { defaultAction: 'Allow', bypass: 'AzureServices' },
    },
  };
  const blobService: ArmResource = {
    type: `${STORAGE}/blobServices`,
    apiVersion: API_VERSIONS.storage,
    name: child(v('storageName'), q('default')),
    dependsOn: [x(storageId)],
    properties: {
      isVersioningEnabled: true,
      deleteRetentionPolicy: { enabled: true, days: 7 },
      containerDeleteRetentionPolicy: { enabled: true, days: 7 },
    },
  };
  const containers = Object.values(AZURE_CONTAINERS).map(
    (name): ArmResource => ({
      type: CONTAINER,
      apiVersion: API_VERSIONS.storage,
      name: child(v('storageName'), q('default'), q(name)),
      dependsOn: [x(rid(`${STORAGE}/blobServices`, v('storageName'), q('default')))],
      properties: { publicAccess: 'None' },
    }),
  );
  const tableService: ArmResource = {
    type: `${STORAGE}/tableServices`,
    apiVersion: API_VERSIONS.storage,
    name: child(v('storageName'), q('default')),
    dependsOn: [x(storageId)],
    properties: {},
  };
  const tables = Object.values(AZURE_TABLES).map(
    (name): ArmResource => ({
      type: TABLE,
      apiVersion: API_VERSIONS.storage,
      name: child(v('storageName'), q('default'), q(name)),
      dependsOn: [x(rid(`${STORAGE}/tableServices`, v('storageName'), q('default')))],
      properties: {},
    }),
  );
  const lifecycle: ArmResource = {
    type: `${STORAGE}/managementPolicies`,
    apiVersion: API_VERSIONS.storage,
    name: child(v('storageName'), q('default')),
    dependsOn: [x(storageId)],
    properties: {
      policy: {
        rules: [
          {
            name: 'old-versions',
            enabled: true,
            type: 'Lifecycle',
            definition: {
              filters: { blobTypes: ['blockBlob'] },
              actions: { version: { delete: { daysAfterCreationGreaterThan: 30 } } },
            },
          },
          {
            name: 'dead-letters',
            enabled: true,
            type: 'Lifecycle',
            definition: {
              filters: { blobTypes: ['blockBlob'], prefixMatch: [`${AZURE_CONTAINERS.deadLetter}/`] },
              actions: { baseBlob: { delete: { daysAfterModificationGreaterThan: 14 } } },
            },
          },
        ],
      },
    },
  };
  return [account, blobService, ...containers, tableService, ...tables, lifecycle];
}

function identities(): ArmResource[] {
  const identity = (name: string): ArmResource => ({
    type: IDENTITY,
    apiVersion: API_VERSIONS.identity,
    name: x(v(name)),
    location: x(p('location')),
    tags,
  });
  return [identity('identityName'), identity('eventGridIdentityName')];
}

function keyVault(): ArmResource[] {
  const vault: ArmResource = {
    type: VAULT,
    apiVersion: API_VERSIONS.keyVault,
    name: x(v('vaultName')),
    location: x(p('location')),
    tags,
    properties: {
      tenantId: x('subscription().tenantId'),
      sku: { family: 'A', name: 'standard' },
      enableRbacAuthorization: true,
      enableSoftDelete: true,
      softDeleteRetentionInDays: x(p('vaultRetentionDays')),
      enablePurgeProtection: true,
      createMode: x(`if(${p('recoverVault')}, 'recover', 'default')`),
      publicNetworkAccess: 'Enabled',
    },
  };
  // ARM creates the key only if it is missing and never adds a version, so redeploying keeps
  // the relay key the peers trust.
  const relayKey: ArmResource = {
    type: `${VAULT}/keys`,
    apiVersion: API_VERSIONS.keyVault,
    name: child(v('vaultName'), q(AZURE_RELAY_KEY_NAME)),
    dependsOn: [x(rid(VAULT, v('vaultName')))],
    tags,
    properties: { kty: 'EC', curveName: 'P-256', keyOps: ['sign', 'verify'], attributes: { enabled: true } },
  };
  return [vault, relayKey];
}

function monitoring(): ArmResource[] {
  const condition = x(p('monitoring'));
  return [
    {
      type: 'Microsoft.OperationalInsights/workspaces',
      apiVersion: API_VERSIONS.logs,
      name: x(v('workspaceName')),
      condition,
      location: x(p('location')),
      tags,
      properties: { sku: { name: 'PerGB2018' }, retentionInDays: 30 },
    },
    {
      type: INSIGHTS,
      apiVersion: API_VERSIONS.insights,
      name: x(v('insightsName')),
      condition,
      location: x(p('location')),
      tags,
      kind: 'web',
      dependsOn: [x(rid('Microsoft.OperationalInsights/workspaces', v('workspaceName')))],
      properties: {
        Application_Type: 'web',
        WorkspaceResourceId: x(rid('Microsoft.OperationalInsights/workspaces', v('workspaceName'))),
        DisableLocalAuth: true,
      },
    },
  ];
}

function eventGrid(): ArmResource[] {
  const identity = { type: 'UserAssigned', userAssignedIdentities: { [x(eventGridIdentityId)]: {} } };
  return [
    {
      type: TOPIC,
      apiVersion: API_VERSIONS.eventGrid,
      name: x(v('topicName')),
      location: x(p('location')),
      tags,
      identity,
      dependsOn: [x(eventGridIdentityId)],
      properties: {
        inputSchema: 'CloudEventSchemaV1_0',
        // Publishers authenticate with Entra ID (EventGrid Data Sender), never an access key.
        disableLocalAuth: true,
        publicNetworkAccess: 'Enabled',
        minimumTlsVersionAllowed: '1.2',
      },
    },
    {
      type: SYSTEM_TOPIC,
      apiVersion: API_VERSIONS.eventGrid,
      name: x(v('systemTopicName')),
      location: 'global',
      tags,
      identity,
      dependsOn: [x(eventGridIdentityId)],
      properties: { source: x('resourceGroup().id'), topicType: 'Microsoft.Resources.ResourceGroups' },
    },
  ];
}

/** Settings every function reads (the composition's env), none of them secret but `WEFT_PUSH_SECRET`. */
function appSettings(): { name: string; value: string }[] {
  const clientId = x(identityRef('clientId'));
  const settings: Record<string, string> = {
    AzureWebJobsStorage__accountName: x(v('storageName')),
    AzureWebJobsStorage__credential: 'managedidentity',
    AzureWebJobsStorage__clientId: clientId,
    AZURE_CLIENT_ID: clientId,
    WEFT_STORAGE_ACCOUNT: x(v('storageName')),
    WEFT_TABLE_NAME: AZURE_TABLES.state,
    WEFT_BLOB_CONTAINER: AZURE_CONTAINERS.state,
    WEFT_EVENT_GRID_ENDPOINT: x(`${ref(TOPIC, v('topicName'), API_VERSIONS.eventGrid)}.endpoint`),
    WEFT_KEY_VAULT_URL: x(`${ref(VAULT, v('vaultName'), API_VERSIONS.keyVault)}.vaultUri`),
    WEFT_RELAY_KEY_NAME: AZURE_RELAY_KEY_NAME,
    WEFT_PEERS: x(p('peers')),
    WEFT_ROOT_CERT: x(p('rootCert')),
    WEFT_OPERATOR_ISSUER: x(p('operatorIssuer')),
    WEFT_OPERATOR_AUDIENCE: x(p('operatorAudience')),
    WEFT_OPERATOR_JWKS_URL: x(p('operatorJwksUrl')),
    WEFT_OPERATOR_ROLE_CLAIM: x(p('operatorRoleClaim')),
    WEFT_PUSH_TENANT_ID: x(p('pushTenantId')),
    WEFT_PUSH_AUDIENCE: x(p('pushAudience')),
    WEFT_PUSH_SECRET: x(`if(empty(${p('pushAudience')}), ${p('pushSecret')}, '')`),
    WEFT_MSI_AUDIENCE: x(p('msiAudience')),
    WEFT_AZURE_SUBSCRIPTION_ID: x('subscription().subscriptionId'),
    WEFT_AZURE_RESOURCE_GROUP: x('resourceGroup().name'),
    WEFT_DEFAULT_ENVIRONMENT: x(v('defaultEnvironment')),
    APPLICATIONINSIGHTS_CONNECTION_STRING: x(
      `if(${p('monitoring')}, reference(${rid(INSIGHTS, v('insightsName'))}, '${API_VERSIONS.insights}').ConnectionString, '')`,
    ),
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: x(
      `if(${p('monitoring')}, format('ClientId={0};Authorization=AAD', ${identityRef('clientId')}), '')`,
    ),
  };
  return Object.entries(settings).map(([name, value]) => ({ name, value }));
}

function functionApp(): ArmResource[] {
  const planId = rid('Microsoft.Web/serverfarms', v('planName'));
  const site: ArmResource = {
    type: SITE,
    apiVersion: API_VERSIONS.web,
    name: x(v('appName')),
    location: x(p('location')),
    tags,
    kind: 'functionapp,linux',
    identity: { type: 'UserAssigned', userAssignedIdentities: { [x(identityId)]: {} } },
    dependsOn: [
      x(planId),
      x(identityId),
      x(containerId(AZURE_CONTAINERS.deployment)),
      x(rid(TOPIC, v('topicName'))),
      x(rid(VAULT, v('vaultName'))),
      x(rid(INSIGHTS, v('insightsName'))),
      // The host reads its storage as the identity from its first start.
      assignmentId(storageId, 'functions', AZURE_ROLES.storageBlobDataOwner),
    ],
    properties: {
      serverFarmId: x(planId),
      httpsOnly: true,
      publicNetworkAccess: 'Enabled',
      siteConfig: {
        minTlsVersion: '1.2',
        scmMinTlsVersion: '1.2',
        http20Enabled: true,
        appSettings: appSettings(),
      },
      functionAppConfig: {
        deployment: {
          storage: {
            type: 'blobContainer',
            value: x(
              `concat(reference(${storageId}, '${API_VERSIONS.storage}').primaryEndpoints.blob, '${AZURE_CONTAINERS.deployment}')`,
            ),
            authentication: { type: 'UserAssignedIdentity', userAssignedIdentityResourceId: x(identityId) },
          },
        },
        scaleAndConcurrency: {
          maximumInstanceCount: x(p('maximumInstanceCount')),
          instanceMemoryMB: x(p('instanceMemoryMB')),
        },
        runtime: { name: 'node', version: '22' },
      },
    },
  };
  // Deployments authenticate with Entra ID (az CLI); publishing profiles' basic auth is off.
  const basicAuth = ['scm', 'ftp'].map(
    (kind): ArmResource => ({
      type: `${SITE}/basicPublishingCredentialsPolicies`,
      apiVersion: API_VERSIONS.web,
      name: child(v('appName'), q(kind)),
      dependsOn: [x(rid(SITE, v('appName')))],
      properties: { allow: false },
    }),
  );
  return [
    {
      type: 'Microsoft.Web/serverfarms',
      apiVersion: API_VERSIONS.web,
      name: x(v('planName')),
      location: x(p('location')),
      tags,
      kind: 'functionapp',
      sku: { name: 'FC1', tier: 'FlexConsumption' },
      properties: { reserved: true },
    },
    site,
    ...basicAuth,
  ];
}

type Principal = 'functions' | 'eventgrid';

/** A role assignment's name: stable per scope, principal and role, so redeploying changes nothing. */
function assignmentGuid(scopeId: string, principal: Principal, role: string): string {
  const identity = principal === 'functions' ? v('identityName') : v('eventGridIdentityName');
  return `guid(${scopeId}, ${identity}, '${role}')`;
}

/** The ID of the assignment of `role` to `principal` on the resource `scopeId` (for `dependsOn`). */
function assignmentId(scopeId: string, principal: Principal, role: string): string {
  return x(
    `extensionResourceId(${scopeId}, '${ROLE_ASSIGNMENT}', ${assignmentGuid(scopeId, principal, role)})`,
  );
}

interface Grant {
  readonly principal: Principal;
  readonly role: keyof typeof AZURE_ROLES;
  /** The one resource it is scoped to, or `undefined` for the resource group. */
  readonly scope: string | undefined;
  readonly description: string;
  readonly condition?: string;
}

const GRANTS: readonly Grant[] = [
  {
    principal: 'functions',
    role: 'storageBlobDataOwner',
    scope: storageId,
    description:
      'weft functions: blobs of the state container, the code package, and the containers and leases the Functions host creates for itself (azure-webjobs-hosts, azure-webjobs-secrets), hence the account and Owner, as AzureWebJobsStorage with an identity requires',
  },
  {
    principal: 'functions',
    role: 'storageTableDataContributor',
    scope: storageId,
    description:
      'weft functions: entities of the state, join-token, replay and rate-limit tables, and the diagnostic-events tables the Functions host creates for itself, hence the account',
  },
  {
    principal: 'functions',
    role: 'eventGridDataSender',
    scope: rid(TOPIC, v('topicName')),
    description: 'weft functions: publish change events to the changes topic (its local auth is off)',
  },
  {
    principal: 'functions',
    role: 'keyVaultCryptoOfficer',
    scope: rid(VAULT, v('vaultName')),
    description:
      'weft functions: sign with the relay key, and create, read and sign with the CA keys, which the CA makes at run time (a new key per rotation), hence the vault and Crypto Officer rather than Crypto User on a key',
  },
  {
    principal: 'functions',
    role: 'reader',
    scope: undefined,
    description:
      'weft registrar and reconcile: reason for the resource-group scope: they read virtual machines, their network interfaces and tags through ARM, and those are created at run time with names unknown here, so no narrower scope can name them; read-only, and only this resource group (the one the system topic watches)',
  },
  {
    principal: 'functions',
    role: 'monitoringMetricsPublisher',
    scope: rid(INSIGHTS, v('insightsName')),
    description: 'weft functions: send telemetry to Application Insights, whose local (key) auth is off',
    condition: x(p('monitoring')),
  },
  {
    principal: 'eventgrid',
    role: 'storageBlobDataContributor',
    scope: containerId(AZURE_CONTAINERS.deadLetter),
    description: 'Event Grid (weft topics): write undeliverable events to the dead-letter container',
  },
];

function roleAssignments(): ArmResource[] {
  return GRANTS.map((grant) => {
    const roleId = AZURE_ROLES[grant.role];
    const principalIdentity = grant.principal === 'functions' ? identityId : eventGridIdentityId;
    const scopeId = grant.scope ?? 'resourceGroup().id';
    return {
      type: ROLE_ASSIGNMENT,
      apiVersion: API_VERSIONS.authorization,
      name: x(assignmentGuid(scopeId, grant.principal, roleId)),
      ...(grant.condition && { condition: grant.condition }),
      ...(grant.scope && { scope: x(grant.scope) }),
      dependsOn: [...(grant.scope ? [x(grant.scope)] : []), x(principalIdentity)],
      properties: {
        roleDefinitionId: x(`subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '${roleId}')`),
        principalId: x(identityRef('principalId', principalIdentity)),
        principalType: 'ServicePrincipal',
        description: grant.description,
      },
    };
  });
}

function subscriptions(routes: Readonly<Record<WebhookFunction, string>>): ArmResource[] {
  const entra = `empty(${p('pushAudience')})`;
  const deadLetterRole = assignmentId(
    containerId(AZURE_CONTAINERS.deadLetter),
    'eventgrid',
    AZURE_ROLES.storageBlobDataContributor,
  );
  const properties = (route: string, filter: Record<string, unknown>) => ({
    destination: {
      endpointType: 'WebHook',
      properties: {
        endpointUrl: x(webhookUrl(route)),
        maxEventsPerBatch: 1,
        preferredBatchSizeInKilobytes: 64,
        minimumTlsVersionAllowed: '1.2',
        // Entra ID: Event Grid's own app gets a token for the push audience; weft checks it.
        azureActiveDirectoryTenantId: x(`if(${entra}, null(), ${p('pushTenantId')})`),
        azureActiveDirectoryApplicationIdOrUri: x(`if(${entra}, null(), ${p('pushAudience')})`),
        // Without an Entra app: the secret, write-only in Event Grid.
        deliveryAttributeMappings: x(`if(${entra}, ${v('secretDelivery')}, createArray())`),
      },
    },
    eventDeliverySchema: 'CloudEventSchemaV1_0',
    filter,
    retryPolicy: { maxDeliveryAttempts: 8, eventTimeToLiveInMinutes: 120 },
    deadLetterWithResourceIdentity: {
      identity: { type: 'UserAssigned', userAssignedIdentity: x(eventGridIdentityId) },
      deadLetterDestination: {
        endpointType: 'StorageBlob',
        properties: { resourceId: x(storageId), blobContainerName: AZURE_CONTAINERS.deadLetter },
      },
    },
  });
  const onTopic = (fn: WebhookFunction, name: string): ArmResource => ({
    type: `${TOPIC}/eventSubscriptions`,
    apiVersion: API_VERSIONS.eventGrid,
    name: child(v('topicName'), q(name)),
    condition: x(p('deploySubscriptions')),
    dependsOn: [x(rid(TOPIC, v('topicName'))), x(rid(SITE, v('appName'))), deadLetterRole],
    properties: properties(routes[fn], { includedEventTypes: [RESOURCE_CHANGED_TYPE] }),
  });
  return [
    onTopic('weftCompile', 'weft-compile'),
    onTopic('weftRelay', 'weft-relay'),
    {
      type: `${SYSTEM_TOPIC}/eventSubscriptions`,
      apiVersion: API_VERSIONS.eventGrid,
      name: child(v('systemTopicName'), q('weft-registrar')),
      condition: x(p('deploySubscriptions')),
      dependsOn: [x(rid(SYSTEM_TOPIC, v('systemTopicName'))), x(rid(SITE, v('appName'))), deadLetterRole],
      properties: properties(routes.weftRegistrar, {
        includedEventTypes: [...REGISTRAR_EVENT_TYPES],
        advancedFilters: [
          { operatorType: 'StringIn', key: 'data.operationName', values: [...REGISTRAR_OPERATIONS] },
        ],
      }),
    },
  ];
}

/**
 * The whole deployment as an ARM template object, deterministic (the same
 * object every call), for `generate.ts` to write and the tests to read.
 *
 * @example
 * writeFileSync('weft.json', JSON.stringify(weftTemplate(), null, 2));
 */
export function weftTemplate(options: WeftTemplateOptions = {}): ArmTemplate {
  const routes = { ...AZURE_WEBHOOK_ROUTES, ...options.webhookRoutes };
  const string = (value: string) => ({ type: 'string', value: x(value) });
  return {
    $schema: 'https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#',
    contentVersion: '1.0.0.0',
    metadata: {
      description:
        'weft control plane on Azure: Flex Consumption functions, Tables, Blob, Event Grid, Key Vault',
      generator: 'infra/azure/template.ts (npm run synth:azure writes this file; do not edit it by hand)',
    },
    parameters: PARAMETERS,
    variables: VARIABLES,
    resources: [
      ...storage(),
      ...identities(),
      ...keyVault(),
      ...monitoring(),
      ...eventGrid(),
      ...functionApp(),
      ...roleAssignments(),
      ...subscriptions(routes),
    ],
    outputs: {
      apiUrl: string(`format('https://{0}/${AZURE_ROUTE_PREFIX}', ${hostName})`),
      topicEndpoint: string(`${ref(TOPIC, v('topicName'), API_VERSIONS.eventGrid)}.endpoint`),
      vaultUrl: string(`${ref(VAULT, v('vaultName'), API_VERSIONS.keyVault)}.vaultUri`),
      functionAppName: string(v('appName')),
      storageAccountName: string(v('storageName')),
      vaultName: string(v('vaultName')),
      relayKeyName: { type: 'string', value: AZURE_RELAY_KEY_NAME },
      identityClientId: string(identityRef('clientId')),
      identityPrincipalId: string(identityRef('principalId')),
      compileWebhookUrl: string(webhookUrl(routes.weftCompile)),
      relayWebhookUrl: string(webhookUrl(routes.weftRelay)),
      registrarWebhookUrl: string(webhookUrl(routes.weftRegistrar)),
    },
  };
}
