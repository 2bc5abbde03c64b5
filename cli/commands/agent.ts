/**
 * `weft agent`: one gateway agent (agents/gateway/main.ts): identity from a
 * one-time join token or the AWS IAM role it runs as, kept rotated; config fetched, verified, applied and
 * kept as last-known-good; the admin port; the data plane (mTLS ingress from
 * other gateways, egress for local workloads). Runs until
 * SIGINT or SIGTERM, then stops cleanly (exit 0).
 *
 * @module
 */
import { resolve } from 'node:path';
import { stopSignal } from '../../process/stack.js';
import { isDuration, parseDuration } from '../../shared/model/duration.js';
import { type Command, stringFlag, stringsFlag } from '../command.js';
import { CliError, EXIT, UsageError } from '../errors.js';

export const DEFAULT_AGENT_DATA_DIR = '.weft-agent';

/** How often an agent may poll: not so often it loads the control plane, not so rarely a missed webhook lasts. */
const POLL_INTERVAL_MS = { min: 100, max: 3_600_000 };
/** How often an agent away from home probes it. */
const PROBE_INTERVAL_MS = { min: 1_000, max: 3_600_000 };

export const agentCommand: Command = {
  name: 'agent',
  usage:
    'agent --environment ENV --name NAME --control-plane URL[,URL...] [--join-token T | --attestation aws-iam --trust-domain TD] [flags]',
  description: [
    'Attests as gateway ENV/NAME with a one-time join token (weft token create --spiffe-id',
    'spiffe://<td>/gw/ENV/NAME), or, with --attestation aws-iam, with the IAM role of its EC2',
    'instance or ECS task (no token: credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/',
    'AWS_SESSION_TOKEN, else the ECS task role endpoint, else EC2 IMDSv2; region from',
    "AWS_REGION or --aws-region; the Mesh's spec.attestation.aws maps the role to",
    'spiffe://<td>/gw/ENV/NAME). Keeps its X.509-SVID rotated at half-life, and keeps the',
    "gateway's signed config in step with the control plane (webhook, and a poll every 30s).",
    'The key, SVID, trust bundle and last-known-good config stay in DIR (mode 0600), so a',
    'restart needs no new token and serves the last config even while the control plane is down.',
    'With one control plane per cloud, name them all: the first --control-plane is home, the',
    'others (more flags, or comma-separated) are tried in order when the current one is',
    'unreachable (5xx, timeout); home is probed every 10-30s and taken back once it answers.',
    'The join token is spent at home only. /healthz and weft_control_plane_info say which is current.',
    'Logs are JSON lines on stdout (env WEFT_LOG_LEVEL: debug, info, warn...); the line with',
    '"msg":"ready" carries the admin address.',
    'Admin port: /healthz, /readyz, /metrics, /config, POST /notify (the webhook).',
    'Data plane: once a config (or the last-known-good) and an SVID are there, it listens on the',
    "Gateway's address (mTLS ingress from other gateways) and on its egress address, where local",
    'workloads call http://<service>.<namespace>.weft.internal as a proxy (curl -x, HTTP_PROXY) or',
    'by Host header, with Authorization: Bearer <JWT-SVID>. It keeps serving while the control',
    'plane is down.',
  ].join('\n'),
  flags: [
    ['--environment ENV', 'the Environment this gateway serves'],
    ['--name NAME', 'the Gateway name'],
    [
      '--control-plane URL',
      'the weft API (env WEFT_SERVER); repeat it or comma-separate for peers: the first is home',
    ],
    [
      '--home-probe-interval D',
      'away from home, how often to probe it, jittered ±50%: 1s to 1h (default 20s)',
    ],
    [
      '--join-token T',
      'one-time join token for the first start (prefer env WEFT_JOIN_TOKEN: argv is visible in ps)',
    ],
    [
      '--attestation M',
      'join-token (default) or aws-iam: sign sts:GetCallerIdentity with the instance/task role (env WEFT_ATTESTATION)',
    ],
    [
      '--trust-domain TD',
      "the Mesh's trust domain, required with aws-iam: the proof is made for spiffe://TD only (env WEFT_TRUST_DOMAIN)",
    ],
    [
      '--aws-region R',
      'with aws-iam: the STS region (default env AWS_REGION, AWS_DEFAULT_REGION, else IMDS)',
    ],
    ['--data DIR', `key, SVID, bundle and last-known-good config (default ${DEFAULT_AGENT_DATA_DIR})`],
    ['--admin-address H:P', 'admin server address (default 127.0.0.1:15000; port 0 picks one)'],
    ['--poll-interval D', 'how often to poll for config, jittered ±20%: 100ms to 1h (default 30s)'],
    [
      '--ingress-address H:P',
      "mTLS ingress listen address (default: the Gateway's spec.address; e.g. 0.0.0.0:15443 behind NAT)",
    ],
    [
      '--egress-address H:P',
      "egress listen address for local workloads (default: the Gateway's spec.egressAddress, else the admin host, port 15001)",
    ],
  ],
  examples: [
    'WEFT_JOIN_TOKEN=$(weft token create --spiffe-id spiffe://weft.demo/gw/aws/aws-edge) \\\n    weft agent --environment aws --name aws-edge --control-plane http://127.0.0.1:7070',
    'weft agent --environment aws --name aws-edge --control-plane http://127.0.0.1:7070 --admin-address 127.0.1.1:15000',
    'weft agent --environment aws --name aws-edge --control-plane https://aws.weft.example \\\n    --attestation aws-iam --trust-domain acme.example   # on EC2/ECS, no token',
    'weft agent --environment aws --name aws-edge --control-plane https://aws.weft.example \\\n    --control-plane https://gcp.weft.example,https://azure.weft.example',
  ],
  options: {
    environment: { type: 'string' },
    name: { type: 'string' },
    'control-plane': { type: 'string', multiple: true },
    'home-probe-interval': { type: 'string' },
    'join-token': { type: 'string' },
    attestation: { type: 'string' },
    'trust-domain': { type: 'string' },
    'aws-region': { type: 'string' },
    data: { type: 'string' },
    'admin-address': { type: 'string' },
    'poll-interval': { type: 'string' },
    'ingress-address': { type: 'string' },
    'egress-address': { type: 'string' },
  },
  positionals: { min: 0, max: 0 },
  connects: false,

  async run({ values }, ctx) {
    const required = (flag: string, fallback?: string) => {
      const value = stringFlag(values, flag) || fallback;
      if (!value) throw new UsageError(`weft agent needs --${flag}`, 'agent');
      return value;
    };
    const interval = stringFlag(values, 'poll-interval') ?? '30s';
    const pollIntervalMs = isDuration(interval) ? parseDuration(interval) : Number.NaN;
    if (!(pollIntervalMs >= POLL_INTERVAL_MS.min && pollIntervalMs <= POLL_INTERVAL_MS.max)) {
      throw new UsageError(
        `--poll-interval must be a duration from 100ms to 1h such as 30s or 500ms, got "${interval}"`,
        'agent',
      );
    }
    const environment = required('environment');
    const name = required('name');
    const [controlPlaneUrl, ...peerControlPlaneUrls] = controlPlaneUrls(values, ctx.env.WEFT_SERVER);
    const probe = stringFlag(values, 'home-probe-interval');
    const homeProbeIntervalMs = probe === undefined ? undefined : probeInterval(probe);
    const options = {
      environment,
      name,
      controlPlaneUrl: controlPlaneUrl!,
      peerControlPlaneUrls,
      ...(homeProbeIntervalMs !== undefined && { homeProbeIntervalMs }),
      joinToken: stringFlag(values, 'join-token') || ctx.env.WEFT_JOIN_TOKEN || undefined,
      ...attestation(values, ctx.env),
      dataDir: resolve(ctx.cwd, stringFlag(values, 'data') || DEFAULT_AGENT_DATA_DIR),
      adminAddress: stringFlag(values, 'admin-address') || undefined,
      ingressAddress: stringFlag(values, 'ingress-address') || undefined,
      egressAddress: stringFlag(values, 'egress-address') || undefined,
      pollIntervalMs,
      logLevel: ctx.env.WEFT_LOG_LEVEL || undefined,
    };
    const stop = new AbortController();
    const stopped = stopSignal().then(() => stop.abort());
    // Loaded here: `weft get` should not pay for the agent's modules.
    const { startGatewayAgent } = await import('../../agents/gateway/main.js');
    let agent: Awaited<ReturnType<typeof startGatewayAgent>>;
    try {
      agent = await startGatewayAgent({ ...options, signal: stop.signal });
    } catch (error) {
      if (stop.signal.aborted) return EXIT.ok;
      if (error instanceof TypeError) throw new UsageError(error.message, 'agent');
      throw new CliError(startFailure(error), EXIT.failed, [], { cause: error });
    }
    await stopped;
    await agent.close();
    return EXIT.ok;
  },
};

/**
 * `--control-plane` values, repeated and/or comma-separated, home first;
 * `WEFT_SERVER` is home when no flag is given.
 */
function controlPlaneUrls(values: Parameters<typeof stringsFlag>[0], fallback: string | undefined): string[] {
  const given = stringsFlag(values, 'control-plane');
  const urls = (given.length > 0 ? given : [fallback ?? ''])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
  if (urls.length === 0)
    throw new UsageError('weft agent needs --control-plane (or env WEFT_SERVER)', 'agent');
  for (const url of urls) {
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol))
      throw new UsageError(`--control-plane must be http(s) URLs, got "${url}"`, 'agent');
  }
  return urls;
}

/** `--attestation` and what `aws-iam` needs; the AWS_* variables are read from the agent's environment. */
function attestation(values: Parameters<typeof stringFlag>[0], env: NodeJS.ProcessEnv) {
  const method = stringFlag(values, 'attestation') || env.WEFT_ATTESTATION || 'join-token';
  if (method !== 'join-token' && method !== 'aws-iam')
    throw new UsageError(`--attestation must be join-token or aws-iam, got "${method}"`, 'agent');
  if (method === 'join-token') {
    for (const flag of ['trust-domain', 'aws-region'])
      if (stringFlag(values, flag)) throw new UsageError(`--${flag} is for --attestation aws-iam`, 'agent');
    return { attestation: 'join-token' as const };
  }
  const trustDomain = stringFlag(values, 'trust-domain') || env.WEFT_TRUST_DOMAIN;
  if (!trustDomain)
    throw new UsageError(
      "--attestation aws-iam needs --trust-domain (the Mesh's spec.trustDomain, or env WEFT_TRUST_DOMAIN)",
      'agent',
    );
  const region = stringFlag(values, 'aws-region');
  return { attestation: 'aws-iam' as const, trustDomain, aws: { env, ...(region && { region }) } };
}

function probeInterval(value: string): number {
  const ms = isDuration(value) ? parseDuration(value) : Number.NaN;
  if (!(ms >= PROBE_INTERVAL_MS.min && ms <= PROBE_INTERVAL_MS.max))
    throw new UsageError(
      `--home-probe-interval must be a duration from 1s to 1h such as 20s, got "${value}"`,
      'agent',
    );
  return ms;
}

function startFailure(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  const message = (error as Error).message ?? String(error);
  if ((error as Error).name === 'DataPlaneListenError') {
    // Its message names both addresses and the system's reason.
    if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL')
      return `${message}; is another agent running? Pick other --ingress-address / --egress-address`;
    return message;
  }
  if (code === 'EADDRINUSE')
    return 'the admin address is already in use: is another agent running? Pick another --admin-address';
  if (code === 'EADDRNOTAVAIL') return 'cannot bind the admin address: no such local address';
  return message;
}
