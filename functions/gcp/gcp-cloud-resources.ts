/**
 * The `CloudResources` port on Google Cloud: Compute Engine instances, read
 * afresh through the Compute REST API (an event is only a trigger; the
 * instance's current state is the truth).
 *
 * - an instance: `GET .../projects/{p}/zones/{z}/instances/{name}` (404: gone):
 *   its labels, `status` and `networkInterfaces[0].networkIP`;
 * - the labelled ones: `GET .../projects/{p}/aggregated/instances` with
 *   `filter=labels.weft-service:*`, every page, every zone (or the zones of
 *   one region).
 *
 * An instance's id is its resource path, `projects/{p}/zones/{z}/instances/{name}`
 * with the project's id (not its number), as the audit log's and the list's
 * agree on. Plain `fetch` with an OAuth token: the one read the registrar
 * makes needs no client library.
 *
 * @module
 */
import { GoogleAuth } from 'google-auth-library';
import * as z from 'zod';
import { UnavailableError } from '../../shared/model/errors.js';
import type { ObservedResource, ResourceState } from '../../shared/registration/observed-resource.js';
import type { CloudResources } from '../../shared/registration/registrar.js';
import { tagKeys } from '../../shared/registration/tag-schema.js';

/** Google Cloud labels: lowercase keys, no `:`. */
export const GCP_LABEL_PREFIX = 'weft-';
/** The kind of every Compute Engine instance the registrar reads. */
export const GCE_INSTANCE = 'gce-instance';
/** The Compute Engine API. */
export const COMPUTE_API = 'https://compute.googleapis.com/compute/v1';
/** Reading instances is all the registrar does. */
export const COMPUTE_READ_SCOPE = 'https://www.googleapis.com/auth/compute.readonly';

export interface GcpCloudResourcesOptions {
  /** The project whose instances the reconcile lists. */
  readonly project: string;
  /** Lists only instances in this region's zones (`europe-west1`). @default every zone */
  readonly region?: string;
  /** An OAuth 2.0 access token for the Compute API. @default Application Default Credentials (the function's service account) */
  readonly token?: () => Promise<string>;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default {@link COMPUTE_API} */
  readonly baseUrl?: string;
  /** @default {@link GCP_LABEL_PREFIX} */
  readonly labelPrefix?: string;
}

/** The parts of an instance's resource path. */
export interface GceInstanceRef {
  readonly id: string;
  readonly project: string;
  readonly zone: string;
  readonly name: string;
}

const SEGMENT = '[a-z0-9][a-z0-9.:_-]{0,99}';
const INSTANCE_PATH = new RegExp(
  `^projects/(${SEGMENT})/zones/([a-z0-9-]{1,63})/instances/([a-z0-9-]{1,63})$`,
);

/** Parses `projects/{p}/zones/{z}/instances/{name}`; `undefined` for any other id. */
export function parseGceInstanceId(id: string): GceInstanceRef | undefined {
  const m = INSTANCE_PATH.exec(id);
  return m ? { id, project: m[1]!, zone: m[2]!, name: m[3]! } : undefined;
}

/** The id of an instance. */
export const gceInstanceId = (project: string, zone: string, name: string) =>
  `projects/${project}/zones/${zone}/instances/${name}`;

/** Compute Engine's `status`; TERMINATED is a stopped instance (one deleted is a 404). */
const STATES: Readonly<Record<string, ResourceState>> = {
  PROVISIONING: 'pending',
  STAGING: 'pending',
  RUNNING: 'running',
  REPAIRING: 'pending',
  STOPPING: 'stopped',
  STOPPED: 'stopped',
  SUSPENDING: 'stopped',
  SUSPENDED: 'stopped',
  TERMINATED: 'stopped',
};

const instanceSchema = z.looseObject({
  name: z.string(),
  status: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  networkInterfaces: z.array(z.looseObject({ networkIP: z.string().optional() })).optional(),
});
type Instance = z.infer<typeof instanceSchema>;

const aggregatedSchema = z.looseObject({
  items: z.record(z.string(), z.looseObject({ instances: z.array(instanceSchema).optional() })).optional(),
  nextPageToken: z.string().optional(),
});

/** Instances read at once when an event or a reconcile names several. */
const CONCURRENCY = 8;
/** The most pages a reconcile reads (500 instances each). */
const MAX_PAGES = 200;

export class GcpCloudResources implements CloudResources {
  readonly #options: GcpCloudResourcesOptions;
  readonly #serviceLabel: string;
  readonly #token: () => Promise<string>;

  constructor(options: GcpCloudResourcesOptions) {
    this.#options = options;
    this.#serviceLabel = tagKeys(options.labelPrefix ?? GCP_LABEL_PREFIX).service;
    this.#token = options.token ?? adcToken();
  }

  async listTagged(): Promise<ObservedResource[]> {
    const { project, region } = this.#options;
    const found: ObservedResource[] = [];
    let pageToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const query = new URLSearchParams({ filter: `labels.${this.#serviceLabel}:*`, maxResults: '500' });
      if (pageToken) query.set('pageToken', pageToken);
      const path = `projects/${encodeURIComponent(project)}/aggregated/instances?${query}`;
      const body = aggregatedSchema.safeParse(await this.#get(path, 'instances.aggregatedList'));
      if (!body.success) throw unavailable('instances.aggregatedList', 'an unexpected response');
      for (const [scope, list] of Object.entries(body.data.items ?? {})) {
        const zone = /^zones\/([a-z0-9-]+)$/.exec(scope)?.[1];
        if (!zone || (region && !zone.startsWith(`${region}-`))) continue;
        for (const instance of list.instances ?? [])
          found.push(observed(gceInstanceId(project, zone, instance.name), instance));
      }
      pageToken = body.data.nextPageToken;
      if (!pageToken) return found;
    }
    throw unavailable('instances.aggregatedList', `more than ${MAX_PAGES} pages`);
  }

  /** One observation per id it can parse (others are not Compute Engine instances: skipped). */
  async describe(ids: readonly string[]): Promise<ObservedResource[]> {
    const refs = ids.map(parseGceInstanceId).filter((r): r is GceInstanceRef => r !== undefined);
    const out: ObservedResource[] = [];
    for (let i = 0; i < refs.length; i += CONCURRENCY)
      out.push(...(await Promise.all(refs.slice(i, i + CONCURRENCY).map((r) => this.#describeOne(r)))));
    return out;
  }

  async #describeOne(ref: GceInstanceRef): Promise<ObservedResource> {
    const path = ['projects', ref.project, 'zones', ref.zone, 'instances', ref.name]
      .map(encodeURIComponent)
      .join('/');
    const body = await this.#get(path, 'instances.get');
    if (body === undefined)
      return { provider: 'gcp', id: ref.id, kind: GCE_INSTANCE, tags: {}, state: 'terminated' };
    const instance = instanceSchema.safeParse(body);
    if (!instance.success) throw unavailable('instances.get', 'an unexpected response');
    return observed(ref.id, instance.data);
  }

  /** The JSON of a GET; `undefined` for a 404. */
  async #get(path: string, action: string): Promise<unknown> {
    const url = `${(this.#options.baseUrl ?? COMPUTE_API).replace(/\/+$/, '')}/${path}`;
    let response: Response;
    try {
      const token = await this.#token();
      response = await (this.#options.fetch ?? fetch)(url, {
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      });
    } catch (error) {
      throw new UnavailableError(`compute.${action} failed: ${(error as Error)?.message ?? error}; retry`, {
        cause: error,
      });
    }
    if (response.status === 404) {
      await response.body?.cancel();
      return undefined;
    }
    if (!response.ok) {
      const detail = await response.text().catch(() => '');
      throw unavailable(action, `HTTP ${response.status} ${googleMessage(detail)}`.trim());
    }
    return response.json().catch((error: unknown) => {
      throw new UnavailableError(`compute.${action} answered with a body that is not JSON; retry`, {
        cause: error,
      });
    });
  }
}

function observed(id: string, instance: Instance): ObservedResource {
  const ip = instance.networkInterfaces?.[0]?.networkIP;
  return {
    provider: 'gcp',
    id,
    kind: GCE_INSTANCE,
    tags: instance.labels ?? {},
    ...(ip && { privateIp: ip }),
    state: STATES[instance.status ?? ''] ?? 'pending',
  };
}

/** A token from Application Default Credentials, made on first use. */
function adcToken(): () => Promise<string> {
  let auth: GoogleAuth | undefined;
  return async () => {
    auth ??= new GoogleAuth({ scopes: [COMPUTE_READ_SCOPE] });
    const token = await auth.getAccessToken();
    if (!token) throw new Error('Application Default Credentials gave no access token');
    return token;
  };
}

/** Google's error message, if the body is a Google error. */
function googleMessage(body: string): string {
  try {
    const message = (JSON.parse(body) as { error?: { message?: unknown } }).error?.message;
    return typeof message === 'string' ? `(${message.slice(0, 200)})` : '';
  } catch {
    return '';
  }
}

function unavailable(action: string, what: string): UnavailableError {
  return new UnavailableError(
    `compute.${action} failed with ${what}: check the function's service account (roles/compute.viewer) and retry`,
  );
}
