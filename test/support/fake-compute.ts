/**
 * A stand-in for the Compute Engine API, as far as the registrar reads it:
 * an HTTP server on loopback at the REST seam `GcpCloudResources` calls
 * (nothing of Compute Engine runs here), with instances a test sets.
 *
 * - `GET /compute/v1/projects/{p}/zones/{z}/instances/{name}`: the instance,
 *   or Google's 404 error body;
 * - `GET /compute/v1/projects/{p}/aggregated/instances`: every zone's
 *   instances under `items["zones/{z}"]` (a zone without any holds the
 *   `NO_RESULTS_ON_PAGE` warning, as Compute's does), `maxResults` and
 *   `pageToken` paging, and of `filter` only the `labels.<key>:*` presence
 *   test (any other filter is a 400, so a test sees what the reader sent);
 * - every request needs `Authorization: Bearer <token>` (401 otherwise);
 *   `failNext(status)` answers the next request with that error.
 *
 * Bodies follow the Compute API reference (`compute#instance`,
 * `compute#instanceAggregatedList`, the `{ error: { code, message, errors } }`
 * error), reduced to the fields a reader could look at.
 *
 * @module
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeInstanceInput {
  readonly project?: string;
  readonly zone: string;
  readonly name: string;
  /** @default 'RUNNING' */
  readonly status?: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** `networkInterfaces[0].networkIP`; `null` for an instance without one. @default a fresh 10.128.0.x */
  readonly networkIP?: string | null;
}

export interface FakeInstance {
  readonly project: string;
  readonly zone: string;
  readonly name: string;
  status: string;
  labels: Record<string, string>;
  readonly networkIP: string | null;
  readonly id: string;
}

export interface FakeCompute {
  /** What `GcpCloudResources` takes as `baseUrl`. */
  readonly baseUrl: string;
  /** The only token it accepts. */
  readonly token: string;
  readonly project: string;
  /** Every request's path and query, in order. */
  readonly requests: string[];
  /** Creates (or replaces) an instance. */
  put(instance: FakeInstanceInput): FakeInstance;
  get(zone: string, name: string): FakeInstance | undefined;
  /** Deletes an instance: a GET of it is a 404 from now on. */
  remove(zone: string, name: string): void;
  /** Answers the next request with `status` and Google's error body. */
  failNext(status: number): void;
  /** Instances on one aggregated page. @default the request's `maxResults` */
  pageSize?: number;
  close(): Promise<void>;
}

export const FAKE_PROJECT = 'weft-test';

export async function startFakeCompute(project = FAKE_PROJECT): Promise<FakeCompute> {
  const instances = new Map<string, FakeInstance>();
  const requests: string[] = [];
  const token = `ya29.fake-${crypto.randomUUID()}`;
  let failure: number | undefined;
  let nextIp = 2;
  let nextId = 1_000_000_000_000_000_000n;
  const key = (p: string, zone: string, name: string) => `${p}/${zone}/${name}`;

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    requests.push(`${url.pathname}${url.search}`);
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' }).end(JSON.stringify(body));
    };
    const error = (status: number, message: string, reason: string) =>
      send(status, { error: { code: status, message, errors: [{ message, domain: 'global', reason }] } });
    if (req.headers.authorization !== `Bearer ${token}`)
      return error(401, 'Request is missing required authentication credential.', 'required');
    if (failure !== undefined) {
      const status = failure;
      failure = undefined;
      return error(status, `Injected failure ${status}.`, status === 403 ? 'forbidden' : 'backendError');
    }
    if (req.method !== 'GET') return error(405, 'Method not allowed.', 'methodNotAllowed');
    const one = /^\/compute\/v1\/projects\/([^/]+)\/zones\/([^/]+)\/instances\/([^/]+)$/.exec(url.pathname);
    if (one) {
      const [p, zone, name] = one.slice(1).map(decodeURIComponent) as [string, string, string];
      const found = instances.get(key(p, zone, name));
      if (!found)
        return error(
          404,
          `The resource 'projects/${p}/zones/${zone}/instances/${name}' was not found`,
          'notFound',
        );
      return send(200, instanceJson(found));
    }
    const list = /^\/compute\/v1\/projects\/([^/]+)\/aggregated\/instances$/.exec(url.pathname);
    if (list) {
      const p = decodeURIComponent(list[1]!);
      const filter = url.searchParams.get('filter');
      const presence = filter === null ? undefined : /^labels\.([a-z0-9_-]+):\*$/.exec(filter)?.[1];
      if (filter !== null && presence === undefined)
        return error(400, `Invalid value for field 'filter': '${filter}'.`, 'invalid');
      const matching = [...instances.values()]
        .filter((i) => i.project === p && (presence === undefined || Object.hasOwn(i.labels, presence)))
        .sort((a, b) => `${a.zone}/${a.name}`.localeCompare(`${b.zone}/${b.name}`));
      const size = fake.pageSize ?? Number(url.searchParams.get('maxResults') ?? 500);
      const start = Number(url.searchParams.get('pageToken') ?? 0);
      const page = matching.slice(start, start + size);
      const items: Record<string, unknown> = {};
      for (const zone of new Set([...instances.values()].map((i) => i.zone))) {
        const here = page.filter((i) => i.zone === zone);
        items[`zones/${zone}`] =
          here.length > 0
            ? { instances: here.map(instanceJson) }
            : {
                warning: {
                  code: 'NO_RESULTS_ON_PAGE',
                  message: `There are no results for scope 'zones/${zone}' on this page.`,
                  data: [{ key: 'scope', value: `zones/${zone}` }],
                },
              };
      }
      const next = start + size < matching.length ? String(start + size) : undefined;
      return send(200, {
        kind: 'compute#instanceAggregatedList',
        id: `projects/${p}/aggregated/instances`,
        items,
        ...(next && { nextPageToken: next }),
        selfLink: `https://www.googleapis.com/compute/v1/projects/${p}/aggregated/instances`,
      });
    }
    return error(404, `Not found: ${url.pathname}`, 'notFound');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const fake: FakeCompute = {
    baseUrl: `http://127.0.0.1:${port}/compute/v1`,
    token,
    project,
    requests,
    put(input) {
      const instance: FakeInstance = {
        project: input.project ?? project,
        zone: input.zone,
        name: input.name,
        status: input.status ?? 'RUNNING',
        labels: { ...(input.labels ?? {}) },
        networkIP: input.networkIP === undefined ? `10.128.0.${nextIp++}` : input.networkIP,
        id: String(nextId++),
      };
      instances.set(key(instance.project, instance.zone, instance.name), instance);
      return instance;
    },
    get: (zone, name) => instances.get(key(project, zone, name)),
    remove: (zone, name) => void instances.delete(key(project, zone, name)),
    failNext(status) {
      failure = status;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return fake;
}

/** An instance as `instances.get` answers, reduced. */
function instanceJson(i: FakeInstance) {
  const zoneUrl = `https://www.googleapis.com/compute/v1/projects/${i.project}/zones/${i.zone}`;
  return {
    kind: 'compute#instance',
    id: i.id,
    name: i.name,
    zone: zoneUrl,
    status: i.status,
    machineType: `${zoneUrl}/machineTypes/e2-small`,
    ...(Object.keys(i.labels).length > 0 && { labels: i.labels }),
    labelFingerprint: Buffer.from(JSON.stringify(i.labels)).toString('base64').slice(0, 12),
    networkInterfaces:
      i.networkIP === null
        ? []
        : [
            {
              kind: 'compute#networkInterface',
              name: 'nic0',
              network: `https://www.googleapis.com/compute/v1/projects/${i.project}/global/networks/default`,
              networkIP: i.networkIP,
            },
          ],
    selfLink: `${zoneUrl}/instances/${i.name}`,
  };
}
