/**
 * The `CloudResources` port on Azure: virtual machines, read afresh through
 * Azure Resource Manager's REST API (an event is only a trigger; the VM's
 * current state is the truth).
 *
 * - a VM: `GET {arm}{id}?$expand=instanceView&api-version=2024-07-01` (404:
 *   gone): its `tags`, `provisioningState` and the instance view's
 *   `PowerState/*` status; then its primary (else first) NIC,
 *   `GET {arm}{nic id}?api-version=2024-05-01`, whose primary (else first) IP
 *   configuration holds `privateIPAddress`;
 * - the tagged ones: `GET {arm}/subscriptions/{s}/resourceGroups/{rg}/resources`
 *   with `$filter=tagName eq 'weft:service'`, following every `nextLink`, the
 *   VMs among them described as above.
 *
 * Azure resource IDs are case-insensitive, and the same VM comes back as
 * `resourceGroups/rg-Weft` from an event and `resourceGroups/RG-WEFT` from a
 * listing: every id is lowercased, so a Workload's resource annotation is
 * one string whichever path read it. Plain `fetch` with a bearer token: the
 * reads the registrar makes need no ARM client library.
 *
 * @module
 */
import type { TokenCredential } from '@azure/identity';
import * as z from 'zod';
import { UnavailableError } from '../../shared/model/errors.js';
import type { ObservedResource, ResourceState } from '../../shared/registration/observed-resource.js';
import type { CloudResources } from '../../shared/registration/registrar.js';
import { DEFAULT_TAG_PREFIX, tagKeys } from '../../shared/registration/tag-schema.js';

/** The kind of every virtual machine the registrar reads (Workloads are `azure-vm-<name>`). */
export const AZURE_VM = 'azure-vm';
/** Azure Resource Manager in the public cloud. */
export const ARM_ENDPOINT = 'https://management.azure.com';
export const COMPUTE_API_VERSION = '2024-07-01';
export const NETWORK_API_VERSION = '2024-05-01';
export const RESOURCES_API_VERSION = '2021-04-01';

export interface ArmCloudResourcesOptions {
  /** The subscription whose resource group the reconcile lists. */
  readonly subscriptionId: string;
  /** The resource group the reconcile lists (the one the registrar's system topic watches). */
  readonly resourceGroup: string;
  /** Gets ARM tokens (the function's managed identity, a Reader on the resource group). */
  readonly credential: TokenCredential;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default {@link ARM_ENDPOINT} */
  readonly armEndpoint?: string;
  /** The token's scope. @default `https://management.azure.com/.default` */
  readonly scope?: string;
  /** @default 'weft:' */
  readonly tagPrefix?: string;
}

const VM_ID =
  /^\/subscriptions\/([0-9a-f-]{36})\/resourcegroups\/([-\w._()]{1,90})\/providers\/microsoft\.compute\/virtualmachines\/([^/]{1,64})$/i;

/**
 * A VM's resource id, lowercased; `undefined` for any other id (a NIC, a
 * disk, the resource group itself).
 *
 * @example
 * azureVmId('/subscriptions/0000…/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/vm-1');
 * // '/subscriptions/0000…/resourcegroups/rg/providers/microsoft.compute/virtualmachines/vm-1'
 */
export function azureVmId(id: string): string | undefined {
  return VM_ID.test(id) ? id.toLowerCase() : undefined;
}

/** The instance view's power state; a VM without one (still being created) is pending. */
const POWER_STATES: Readonly<Record<string, ResourceState>> = {
  'powerstate/running': 'running',
  'powerstate/starting': 'pending',
  'powerstate/stopping': 'stopped',
  'powerstate/stopped': 'stopped',
  'powerstate/deallocating': 'stopped',
  'powerstate/deallocated': 'stopped',
};

const vmSchema = z.looseObject({
  tags: z.record(z.string(), z.string()).nullish(),
  properties: z
    .looseObject({
      provisioningState: z.string().optional(),
      instanceView: z
        .looseObject({ statuses: z.array(z.looseObject({ code: z.string().optional() })).optional() })
        .optional(),
      networkProfile: z
        .looseObject({
          networkInterfaces: z
            .array(
              z.looseObject({
                id: z.string(),
                properties: z.looseObject({ primary: z.boolean().optional() }).optional(),
              }),
            )
            .optional(),
        })
        .optional(),
    })
    .optional(),
});
type Vm = z.infer<typeof vmSchema>;

const nicSchema = z.looseObject({
  properties: z
    .looseObject({
      ipConfigurations: z
        .array(
          z.looseObject({
            properties: z
              .looseObject({
                primary: z.boolean().optional(),
                privateIPAddress: z.string().optional(),
              })
              .optional(),
          }),
        )
        .optional(),
    })
    .optional(),
});

const listSchema = z.looseObject({
  value: z.array(z.looseObject({ id: z.string() })),
  nextLink: z.string().optional(),
});

/** VMs read at once when a reconcile or an event names several. */
const CONCURRENCY = 8;
/** The most pages a reconcile reads (ARM pages hold up to 1000 resources). */
const MAX_PAGES = 100;

export class ArmCloudResources implements CloudResources {
  readonly #options: ArmCloudResourcesOptions;
  readonly #arm: string;
  readonly #serviceTag: string;

  constructor(options: ArmCloudResourcesOptions) {
    if (!options.credential) throw new TypeError('ArmCloudResources needs a TokenCredential');
    this.#options = options;
    this.#arm = (options.armEndpoint ?? ARM_ENDPOINT).replace(/\/+$/, '');
    this.#serviceTag = tagKeys(options.tagPrefix ?? DEFAULT_TAG_PREFIX).service;
  }

  async listTagged(): Promise<ObservedResource[]> {
    const { subscriptionId, resourceGroup } = this.#options;
    const filter = encodeURIComponent(`tagName eq '${this.#serviceTag}'`);
    const group = `/subscriptions/${encodeURIComponent(subscriptionId)}/resourceGroups/${encodeURIComponent(resourceGroup)}`;
    let url: string | undefined =
      `${this.#arm}${group}/resources?$filter=${filter}&api-version=${RESOURCES_API_VERSION}`;
    const ids: string[] = [];
    for (let page = 0; url && page < MAX_PAGES; page++) {
      const body = listSchema.safeParse(await this.#get(url, 'resources.list'));
      if (!body.success) throw unavailable('resources.list', 'an unexpected response');
      // Every tagged resource comes back (NICs, disks...): the VMs among them are the registrar's.
      for (const r of body.data.value) {
        const id = azureVmId(r.id);
        if (id) ids.push(id);
      }
      url = body.data.nextLink && this.#sameArm(body.data.nextLink, 'resources.list');
    }
    if (url) throw unavailable('resources.list', `more than ${MAX_PAGES} pages`);
    return this.describe([...new Set(ids)]);
  }

  /** One observation per VM id (others are not VMs: skipped). */
  async describe(ids: readonly string[]): Promise<ObservedResource[]> {
    const vms = [...new Set(ids.map(azureVmId).filter((id): id is string => id !== undefined))];
    const out: ObservedResource[] = [];
    for (let i = 0; i < vms.length; i += CONCURRENCY)
      out.push(...(await Promise.all(vms.slice(i, i + CONCURRENCY).map((id) => this.#describeOne(id)))));
    return out;
  }

  async #describeOne(id: string): Promise<ObservedResource> {
    const url = `${this.#arm}${id}?$expand=instanceView&api-version=${COMPUTE_API_VERSION}`;
    const body = await this.#get(url, 'virtualMachines.get');
    if (body === undefined) return { provider: 'azure', id, kind: AZURE_VM, tags: {}, state: 'terminated' };
    const vm = vmSchema.safeParse(body);
    if (!vm.success) throw unavailable('virtualMachines.get', 'an unexpected response');
    const state = vmState(vm.data);
    const ip = state === 'running' ? await this.#privateIp(vm.data) : undefined;
    return {
      provider: 'azure',
      id,
      kind: AZURE_VM,
      tags: vm.data.tags ?? {},
      ...(ip && { privateIp: ip }),
      state,
    };
  }

  /** The private IP of the VM's primary NIC's primary IP configuration; none for a NIC that is gone. */
  async #privateIp(vm: Vm): Promise<string | undefined> {
    const nics = vm.properties?.networkProfile?.networkInterfaces ?? [];
    const nic = nics.find((n) => n.properties?.primary) ?? nics[0];
    if (!nic) return undefined;
    const path = nic.id.startsWith('/') ? nic.id : `/${nic.id}`;
    const url = `${this.#arm}${path}?api-version=${NETWORK_API_VERSION}`;
    const body = nicSchema.safeParse(await this.#get(url, 'networkInterfaces.get'));
    if (!body.success) return undefined;
    const configs = body.data.properties?.ipConfigurations ?? [];
    const config = configs.find((c) => c.properties?.primary) ?? configs[0];
    return config?.properties?.privateIPAddress || undefined;
  }

  /** A `nextLink` must point back at ARM: the token goes with it. */
  #sameArm(link: string, action: string): string {
    if (!link.startsWith(`${this.#arm}/`))
      throw unavailable(action, 'a nextLink outside Azure Resource Manager');
    return link;
  }

  /** The JSON of a GET; `undefined` for a 404. */
  async #get(url: string, action: string): Promise<unknown> {
    let response: Response;
    try {
      const token = await this.#options.credential.getToken(
        this.#options.scope ?? `${ARM_ENDPOINT}/.default`,
      );
      if (!token?.token) throw new Error('the credential gave no access token');
      response = await (this.#options.fetch ?? fetch)(url, {
        headers: { authorization: `Bearer ${token.token}`, accept: 'application/json' },
      });
    } catch (error) {
      throw new UnavailableError(`ARM ${action} failed: ${(error as Error)?.message ?? error}; retry`, {
        cause: error,
      });
    }
    if (response.status === 404) {
      await response.body?.cancel();
      return undefined;
    }
    if (!response.ok) {
      const detail = armMessage(await response.text().catch(() => ''));
      throw unavailable(action, `HTTP ${response.status}${detail}`);
    }
    return response.json().catch((error: unknown) => {
      throw new UnavailableError(`ARM ${action} answered with a body that is not JSON; retry`, {
        cause: error,
      });
    });
  }
}

/** Running only when the instance view says so and the VM is not being deleted. */
function vmState(vm: Vm): ResourceState {
  if (vm.properties?.provisioningState?.toLowerCase() === 'deleting') return 'terminated';
  const codes = (vm.properties?.instanceView?.statuses ?? []).map((s) => s.code?.toLowerCase() ?? '');
  const power = codes.find((code) => code.startsWith('powerstate/'));
  return (power && POWER_STATES[power]) || 'pending';
}

/** ARM's error code and message (`{"error": {"code", "message"}}`), if the body is one. */
function armMessage(body: string): string {
  try {
    const error = (JSON.parse(body) as { error?: { code?: unknown; message?: unknown } }).error;
    const code = typeof error?.code === 'string' ? error.code : undefined;
    const message = typeof error?.message === 'string' ? error.message.slice(0, 200) : undefined;
    return code || message ? ` (${[code, message].filter(Boolean).join(': ')})` : '';
  } catch {
    return '';
  }
}

function unavailable(action: string, what: string): UnavailableError {
  return new UnavailableError(
    `ARM ${action} failed with ${what}: check the function identity's Reader role on the resource group and retry`,
  );
}
