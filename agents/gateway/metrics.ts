/**
 * The control loop's Prometheus metrics (DESIGN.md §7), on a registry of the
 * agent's own (the data plane adds its request metrics to the same one), so
 * two agents in one process, as in tests, never share a series.
 *
 * `weft_config_version` is a number, and an HLC version is a string; the
 * gauge's value is the version's wall-clock part in milliseconds (it only
 * moves forward, and `time() - weft_config_version / 1000` is how old the
 * applied desired state is), and `weft_config_info{version, hash}` carries
 * the exact version as an info metric (value 1), as `kube_*_info` do.
 * `weft_control_plane_info{url, home}` says which control plane the agent
 * talks to now (`home="false"`: failed over to a peer).
 *
 * Every series passes `promtool check metrics`: prom-client's default
 * `nodejs_active_{handles,requests,resources}_total` are gauges named like
 * counters, so they are dropped; `sum(nodejs_active_handles)` (by type) is
 * the same number.
 *
 * @module
 */
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { parseHlc } from '../../shared/model/hlc.js';

/** prom-client defaults that are gauges with a counter's `_total` suffix, which promtool refuses. */
const MISNAMED_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/** How a sync that got an answer ended. */
export type ApplyResult = 'applied' | 'refused' | 'unchanged';
/** How a webhook notification was taken. */
export type NotificationResult = 'accepted' | 'stale' | 'refused';
/** The credentials whose expiry is exported. */
export type CredentialKind = 'x509-svid' | 'jwt-svid';

/** The agent's control-loop metrics. */
export class AgentMetrics {
  readonly registry: Registry;
  readonly #version: Gauge;
  readonly #info: Gauge<'version' | 'hash'>;
  readonly #apply: Counter<'result'>;
  readonly #expiry: Gauge<'credential'>;
  readonly #contact: Gauge;
  readonly #notify: Counter<'result'>;
  readonly #plane: Gauge<'url' | 'home'>;
  readonly #switches: Counter<'to'>;

  constructor(registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    collectDefaultMetrics({ register: registry });
    for (const name of MISNAMED_DEFAULTS) registry.removeSingleMetric(name);
    this.#version = new Gauge({
      name: 'weft_config_version',
      help: 'Wall-clock milliseconds of the applied snapshot HLC version (0: none applied); see weft_config_info',
      registers,
    });
    this.#info = new Gauge({
      name: 'weft_config_info',
      help: 'The applied snapshot: its exact HLC version and content hash (value always 1)',
      labelNames: ['version', 'hash'],
      registers,
    });
    this.#apply = new Counter({
      name: 'weft_config_apply_total',
      help: 'Snapshot syncs by result: applied, refused (failed verification; the old config stays), unchanged',
      labelNames: ['result'],
      registers,
    });
    for (const result of ['applied', 'refused', 'unchanged'] as const) this.#apply.labels(result).inc(0);
    this.#expiry = new Gauge({
      name: 'weft_credential_expiry_timestamp_seconds',
      help: 'When the current credential expires, in Unix seconds',
      labelNames: ['credential'],
      registers,
    });
    this.#contact = new Gauge({
      name: 'weft_control_plane_last_contact_timestamp_seconds',
      help: 'When the control plane last answered a snapshot fetch, in Unix seconds (0: never)',
      registers,
    });
    this.#notify = new Counter({
      name: 'weft_config_notifications_total',
      help: 'Webhook notifications by result: accepted (a fetch follows), stale (nothing newer), refused (failed verification)',
      labelNames: ['result'],
      registers,
    });
    this.#plane = new Gauge({
      name: 'weft_control_plane_info',
      help: 'The control plane the agent talks to now: its URL, and whether it is home (value always 1)',
      labelNames: ['url', 'home'],
      registers,
    });
    this.#switches = new Counter({
      name: 'weft_control_plane_switches_total',
      help: 'Switches of control plane: to a peer (home or the current one unreachable) or back home',
      labelNames: ['to'],
      registers,
    });
    for (const to of ['peer', 'home'] as const) this.#switches.labels(to).inc(0);
    this.#version.set(0);
    this.#contact.set(0);
  }

  /** The control plane calls go to now; `switched` counts a change. */
  controlPlaneCurrent(url: string, home: boolean, switched = true): void {
    this.#plane.reset();
    this.#plane.labels(url, String(home)).set(1);
    if (switched) this.#switches.labels(home ? 'home' : 'peer').inc();
  }

  /** A snapshot was applied (or restored from disk): its version becomes the exported one. */
  configApplied(version: string, hash: string): void {
    this.#version.set(parseHlc(version)?.wall ?? 0);
    this.#info.reset();
    this.#info.labels(version, hash).set(1);
  }

  countApply(result: ApplyResult): void {
    this.#apply.labels(result).inc();
  }

  credentialExpiry(kind: CredentialKind, expiresAt: Date): void {
    this.#expiry.labels(kind).set(expiresAt.getTime() / 1000);
  }

  countNotification(result: NotificationResult): void {
    this.#notify.labels(result).inc();
  }

  controlPlaneAnswered(at: number): void {
    this.#contact.set(at / 1000);
  }

  /** The Prometheus text exposition. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
