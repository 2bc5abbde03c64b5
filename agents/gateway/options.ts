/**
 * What an agent is started with, checked at start-up (bad configuration
 * fails before anything runs, naming the option), with the defaults filled in.
 *
 * @module
 */
import { DNS1123_LABEL, TRUST_DOMAIN } from '../../shared/model/names.js';
import { parseHostPort } from './admin-http.js';
import { type AwsIamProofOptions, stsUrl } from './aws-iam-proof.js';
import type { Logger } from './log.js';

/** The admin port's default address: loopback, Envoy's admin port. */
export const DEFAULT_ADMIN_ADDRESS = '127.0.0.1:15000';
/** The egress port when neither `egressAddress` nor the Gateway names one (on the admin host). */
export const DEFAULT_EGRESS_PORT = 15001;
/** How often the agent polls for a snapshot (±20 %). */
export const DEFAULT_POLL_INTERVAL_MS = 30_000;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** How an agent without a usable identity proves where it runs. */
export type AgentAttestation = 'join-token' | 'aws-iam';
const ATTESTATIONS: readonly string[] = ['join-token', 'aws-iam'] satisfies AgentAttestation[];

/** Options of `startGatewayAgent`. */
export interface GatewayAgentOptions {
  /** The Environment this gateway serves (a DNS-1123 label). */
  readonly environment: string;
  /** The Gateway's name (a DNS-1123 label). */
  readonly name: string;
  /** The home control plane API's base URL: every call goes here while it answers. */
  readonly controlPlaneUrl: string;
  /**
   * The other control planes of the mesh (one per cloud, same state and
   * trust), tried in this order when the current one is unreachable; home is
   * probed meanwhile and taken back when it answers (`failover-client.ts`).
   * @default none
   */
  readonly peerControlPlaneUrls?: readonly string[];
  /** How often, away from home, home is probed (jittered ±50 %). @default 20_000 */
  readonly homeProbeIntervalMs?: number;
  /** One-time join token; needed only when the data directory holds no valid identity. */
  readonly joinToken?: string;
  /** A join token, or the AWS IAM role the agent runs as (`aws-iam-proof.ts`). @default 'join-token' */
  readonly attestation?: AgentAttestation;
  /**
   * The mesh's trust domain, required with `aws-iam`: the proof is signed
   * for `spiffe://<trust domain>` alone, so it is configured here, never
   * learnt from the control plane it is handed to (which could then replay
   * it at another mesh's control plane).
   */
  readonly trustDomain?: string;
  /**
   * Where `aws-iam` finds credentials and the region (`region` overrides `AWS_REGION`).
   * @default process.env, then the ECS and EC2 metadata endpoints
   */
  readonly aws?: Omit<AwsIamProofOptions, 'audience'>;
  /** Where the key, SVID, bundle and last-known-good snapshot are kept (created 0700). */
  readonly dataDir: string;
  /** @default '127.0.0.1:15000' */
  readonly adminAddress?: string;
  /** @default 30_000 */
  readonly pollIntervalMs?: number;
  /**
   * Runs the data plane (ingress and egress listeners). Off, the agent is the
   * control loop alone (benchmarks of config distribution). @default true
   */
  readonly dataPlane?: boolean;
  /** Where the mTLS ingress listens. @default the Gateway's `address` from the snapshot */
  readonly ingressAddress?: string;
  /**
   * Where local workloads send their calls (plain HTTP: proxy or `Host`).
   * @default the Gateway's `egressAddress` from the snapshot, else the admin host, port 15001
   */
  readonly egressAddress?: string;
  /** @default pino JSON lines on stdout, at `logLevel` */
  readonly logger?: Logger;
  /** `fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`. @default 'info' */
  readonly logLevel?: string;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** The clock rotation is scheduled by. @default Date.now */
  readonly now?: () => number;
  /** Aborts a start-up still waiting for the control plane (shutdown). */
  readonly signal?: AbortSignal;
}

/** Options checked, defaults applied. */
export type ValidAgentOptions = GatewayAgentOptions & {
  readonly adminAddress: string;
  readonly pollIntervalMs: number;
  readonly peerControlPlaneUrls: readonly string[];
  readonly now: () => number;
};

/** @throws TypeError naming the first bad option. */
export function validateAgentOptions(options: GatewayAgentOptions): ValidAgentOptions {
  for (const key of ['environment', 'name'] as const) {
    if (!DNS1123_LABEL.test(options[key] ?? ''))
      throw new TypeError(
        `${key} must be a DNS-1123 label (lowercase letters, digits, "-"), got "${options[key]}"`,
      );
  }
  requireHttpUrl(options.controlPlaneUrl, 'the control plane URL');
  const peerControlPlaneUrls = options.peerControlPlaneUrls ?? [];
  for (const url of peerControlPlaneUrls) requireHttpUrl(url, 'a peer control plane URL');
  const all = [options.controlPlaneUrl, ...peerControlPlaneUrls].map(normalUrl);
  const twice = all.find((url, i) => all.indexOf(url) !== i);
  if (twice) throw new TypeError(`the control plane ${twice} is given twice`);
  const homeProbeIntervalMs = options.homeProbeIntervalMs;
  if (
    homeProbeIntervalMs !== undefined &&
    !(Number.isFinite(homeProbeIntervalMs) && homeProbeIntervalMs >= 10)
  )
    throw new TypeError(`the home probe interval must be at least 10 ms, got ${homeProbeIntervalMs}`);
  validateAttestation(options);
  if (!options.dataDir) throw new TypeError('a data directory is required');
  const adminAddress = options.adminAddress ?? DEFAULT_ADMIN_ADDRESS;
  if (!parseHostPort(adminAddress))
    throw new TypeError(`the admin address must be host:port, got "${adminAddress}"`);
  for (const key of ['ingressAddress', 'egressAddress'] as const) {
    const address = options[key];
    if (address !== undefined && !parseHostPort(address))
      throw new TypeError(
        `the ${key === 'ingressAddress' ? 'ingress' : 'egress'} address must be host:port, got "${address}"`,
      );
  }
  if (options.logLevel !== undefined && !LOG_LEVELS.includes(options.logLevel))
    throw new TypeError(`the log level must be one of ${LOG_LEVELS.join(', ')}, got "${options.logLevel}"`);
  const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  if (!Number.isFinite(pollIntervalMs) || pollIntervalMs < 10)
    throw new TypeError(`the poll interval must be at least 10 ms, got ${pollIntervalMs}`);
  return { ...options, adminAddress, pollIntervalMs, peerControlPlaneUrls, now: options.now ?? Date.now };
}

function validateAttestation(options: GatewayAgentOptions): void {
  const method = options.attestation ?? 'join-token';
  if (!ATTESTATIONS.includes(method))
    throw new TypeError(`the attestation must be ${ATTESTATIONS.join(' or ')}, got "${method}"`);
  if (method !== 'aws-iam') return;
  if (!TRUST_DOMAIN.test(options.trustDomain ?? ''))
    throw new TypeError(
      `aws-iam attestation needs the mesh's trust domain (--trust-domain, e.g. acme.example), got "${options.trustDomain ?? ''}"`,
    );
  if (options.joinToken)
    throw new TypeError('a join token is given but the attestation is aws-iam: drop one of them');
  if (options.aws?.region) stsUrl(options.aws.region);
}

function requireHttpUrl(url: string, what: string): void {
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol))
    throw new TypeError(`${what} must be http(s), got "${url}"`);
}

function normalUrl(url: string): string {
  return new URL(url).toString().replace(/\/+$/, '');
}
