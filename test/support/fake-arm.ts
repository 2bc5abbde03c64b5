/**
 * Azure Resource Manager, faked at its REST API for the registrar's reads:
 * nothing of ARM runs outside Azure. A real HTTP server on loopback, which
 * `ArmCloudResources` reaches with plain `fetch` as it reaches
 * `management.azure.com`.
 *
 * What it keeps of the service:
 *
 * - `GET /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{vm}`
 *   (`$expand=instanceView` adds `properties.instanceView.statuses`, with a
 *   `ProvisioningState/*` and a `PowerState/*` code) and
 *   `GET .../Microsoft.Network/networkInterfaces/{nic}` (its
 *   `ipConfigurations[].properties.privateIPAddress`); a resource it does
 *   not have is 404 `ResourceNotFound`;
 * - `GET /subscriptions/{s}/resourceGroups/{rg}/resources?$filter=tagName eq '<tag>'`:
 *   every VM and NIC carrying the tag, a few per page with a `nextLink`, the
 *   resource group in the ids UPPERCASED, as ARM's listing often writes it;
 * - paths are matched without regard to case (ARM's ids are case-insensitive);
 * - every request needs `api-version` (else 400) and `Authorization: Bearer
 *   <the fake's token>` (else 401 `AuthenticationFailed`);
 * - it can be told to fail the next requests (throttling, an outage).
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TokenCredential } from '@azure/identity';

export const FAKE_SUBSCRIPTION = '0b6b2c4e-8a51-4d2a-9f0e-5c3a7d1e9f20';
export const FAKE_RESOURCE_GROUP = 'rg-Weft';

/** A VM as a test sets it. */
export interface FakeVm {
  readonly tags?: Readonly<Record<string, string>>;
  /** `running`, `stopped`, `deallocated`, `starting`...: the `PowerState/*` code. @default 'running' */
  readonly power?: string;
  /** @default 'Succeeded' */
  readonly provisioningState?: string;
  /** The primary NIC's private IP. @default 10.1.0.<n> */
  readonly privateIp?: string;
}

export interface FakeArm {
  /** `http://127.0.0.1:<port>`: what `armEndpoint` is set to. */
  readonly endpoint: string;
  /** The bearer token it takes. */
  readonly token: string;
  /** A credential that gives that token (and records the scopes asked for). */
  readonly credential: TokenCredential & { readonly scopes: string[] };
  /** Every request answered: method, path (as sent) and status. */
  readonly requests: readonly { readonly method: string; readonly path: string; readonly status: number }[];
  /** Creates or replaces a VM (with its NIC) in the resource group; returns its id as ARM writes it. */
  putVm(name: string, vm?: FakeVm): string;
  /** Changes what a VM reports. */
  updateVm(name: string, change: FakeVm): void;
  /** Deletes the VM and its NIC. */
  deleteVm(name: string): void;
  /** The id of a VM, as ARM writes it. */
  vmId(name: string): string;
  /** Answers the next `times` authenticated requests with `status`. */
  fail(status: number, times?: number): void;
  close(): Promise<void>;
}

interface Vm {
  name: string;
  tags: Record<string, string>;
  power: string;
  provisioningState: string;
  privateIp: string;
}

/** Resources per page of the list, small so that a test walks `nextLink`. */
const PAGE = 2;

/**
 * Starts a fake ARM on a free loopback port.
 *
 * @example
 * const arm = await startFakeArm();
 * const resources = new ArmCloudResources({ subscriptionId: FAKE_SUBSCRIPTION, resourceGroup: FAKE_RESOURCE_GROUP,
 *   credential: arm.credential, armEndpoint: arm.endpoint });
 */
export async function startFakeArm(): Promise<FakeArm> {
  const token = randomBytes(24).toString('base64url');
  const vms = new Map<string, Vm>();
  const requests: { method: string; path: string; status: number }[] = [];
  let failures: { status: number; left: number } | undefined;
  let nextIp = 4;
  const group = `/subscriptions/${FAKE_SUBSCRIPTION}/resourceGroups/${FAKE_RESOURCE_GROUP}`;
  const vmId = (name: string) => `${group}/providers/Microsoft.Compute/virtualMachines/${name}`;
  const nicId = (name: string) => `${group}/providers/Microsoft.Network/networkInterfaces/${name}-nic`;

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const status = answer(req.method ?? 'GET', url, req.headers.authorization, res);
    requests.push({ method: req.method ?? 'GET', path: `${url.pathname}${url.search}`, status });
  });

  function answer(method: string, url: URL, authorization: string | undefined, res: ServerResponse): number {
    if (authorization !== `Bearer ${token}`)
      return send(res, 401, error('AuthenticationFailed', 'the access token is missing or invalid'));
    if (!url.searchParams.get('api-version'))
      return send(
        res,
        400,
        error('MissingApiVersionParameter', "the api-version query parameter ('?api-version=') is required"),
      );
    if (failures && failures.left > 0) {
      failures.left -= 1;
      return send(res, failures.status, error('Injected', 'failure injected by the test'));
    }
    if (method !== 'GET') return send(res, 405, error('MethodNotAllowed', 'the fake reads only'));
    const path = url.pathname.toLowerCase();
    const base = group.toLowerCase();
    if (path === `${base}/resources`) return list(url, res);
    const vm = new RegExp(
      `^${escapeRegExp(base)}/providers/microsoft\\.compute/virtualmachines/([^/]+)$`,
    ).exec(path);
    if (vm) {
      const found = vms.get(vm[1]!);
      if (!found) return send(res, 404, notFound('Microsoft.Compute/virtualMachines', vm[1]!));
      return send(res, 200, vmBody(found, url.searchParams.get('$expand') === 'instanceView'));
    }
    const nic = new RegExp(
      `^${escapeRegExp(base)}/providers/microsoft\\.network/networkinterfaces/([^/]+)-nic$`,
    ).exec(path);
    if (nic) {
      const found = vms.get(nic[1]!);
      if (!found) return send(res, 404, notFound('Microsoft.Network/networkInterfaces', `${nic[1]}-nic`));
      return send(res, 200, nicBody(found));
    }
    return send(res, 404, error('InvalidResourceType', `the fake has nothing at ${url.pathname}`));
  }

  function vmBody(vm: Vm, expand: boolean) {
    return {
      id: vmId(vm.name),
      name: vm.name,
      type: 'Microsoft.Compute/virtualMachines',
      location: 'westeurope',
      tags: vm.tags,
      properties: {
        vmId: '6f1c2d3e-0000-4000-8000-000000000000',
        provisioningState: vm.provisioningState,
        networkProfile: { networkInterfaces: [{ id: nicId(vm.name), properties: { primary: true } }] },
        ...(expand && {
          instanceView: {
            computerName: vm.name,
            statuses: [
              { code: `ProvisioningState/${vm.provisioningState.toLowerCase()}`, level: 'Info' },
              { code: `PowerState/${vm.power}`, level: 'Info', displayStatus: `VM ${vm.power}` },
            ],
          },
        }),
      },
    };
  }

  function nicBody(vm: Vm) {
    return {
      id: nicId(vm.name),
      name: `${vm.name}-nic`,
      type: 'Microsoft.Network/networkInterfaces',
      properties: {
        provisioningState: 'Succeeded',
        ipConfigurations: [
          {
            id: `${nicId(vm.name)}/ipConfigurations/ipconfig1`,
            name: 'ipconfig1',
            properties: {
              primary: true,
              privateIPAddress: vm.privateIp,
              privateIPAllocationMethod: 'Dynamic',
            },
          },
        ],
        virtualMachine: { id: vmId(vm.name) },
      },
    };
  }

  function list(url: URL, res: ServerResponse): number {
    const filter = /^tagName eq '([^']+)'$/.exec(url.searchParams.get('$filter') ?? '');
    if (!filter) return send(res, 400, error('InvalidFilter', "the fake takes $filter=tagName eq '<tag>'"));
    const loud = (id: string) =>
      id.replace(
        `/resourceGroups/${FAKE_RESOURCE_GROUP}/`,
        `/resourceGroups/${FAKE_RESOURCE_GROUP.toUpperCase()}/`,
      );
    const tagged = [...vms.values()]
      .filter((vm) => Object.hasOwn(vm.tags, filter[1]!))
      .flatMap((vm) => [
        { id: loud(vmId(vm.name)), name: vm.name, type: 'Microsoft.Compute/virtualMachines', tags: vm.tags },
        // A NIC tagged alike, as a VM created from a template often has: not a VM, the reader skips it.
        {
          id: loud(nicId(vm.name)),
          name: `${vm.name}-nic`,
          type: 'Microsoft.Network/networkInterfaces',
          tags: vm.tags,
        },
      ]);
    const skip = Number(url.searchParams.get('$skiptoken') ?? 0);
    const page = tagged.slice(skip, skip + PAGE);
    const next = new URL(url.href.replace('http://localhost', endpoint));
    next.searchParams.set('$skiptoken', String(skip + PAGE));
    return send(res, 200, { value: page, ...(skip + PAGE < tagged.length && { nextLink: next.href }) });
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const scopes: string[] = [];
  const find = (name: string) => {
    const vm = vms.get(name.toLowerCase());
    if (!vm) throw new Error(`the fake has no VM ${name}`);
    return vm;
  };

  return {
    endpoint,
    token,
    credential: {
      scopes,
      async getToken(scope) {
        scopes.push(...(Array.isArray(scope) ? scope : [scope]));
        return { token, expiresOnTimestamp: Date.now() + 3_600_000 };
      },
    },
    requests,
    putVm(name, vm = {}) {
      vms.set(name.toLowerCase(), {
        name,
        tags: { ...vm.tags },
        power: vm.power ?? 'running',
        provisioningState: vm.provisioningState ?? 'Succeeded',
        privateIp: vm.privateIp ?? `10.1.0.${nextIp++}`,
      });
      return vmId(name);
    },
    updateVm(name, change) {
      const vm = find(name);
      if (change.tags) vm.tags = { ...change.tags };
      if (change.power) vm.power = change.power;
      if (change.provisioningState) vm.provisioningState = change.provisioningState;
      if (change.privateIp) vm.privateIp = change.privateIp;
    },
    deleteVm(name) {
      vms.delete(name.toLowerCase());
    },
    vmId: (name) => vmId(find(name).name),
    fail(status, times = 1) {
      failures = { status, left: times };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function send(res: ServerResponse, status: number, body: unknown): number {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
  return status;
}

function error(code: string, message: string) {
  return { error: { code, message } };
}

function notFound(type: string, name: string) {
  return error(
    'ResourceNotFound',
    `The Resource '${type}/${name}' under resource group '${FAKE_RESOURCE_GROUP}' was not found.`,
  );
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
