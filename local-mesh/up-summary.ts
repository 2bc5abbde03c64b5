/**
 * What `weft up` prints on stdout once everything runs: where the API is
 * and its token, what the mesh file changed, each gateway agent with its
 * admin URL and the config version it applied, the demo services, and the
 * commands to try, written so they work as printed in this directory: among
 * them a call across the mesh that a policy allows and one it denies, each
 * minting a fresh JWT-SVID as it runs (a token printed here would expire).
 *
 * @module
 */
import type { CommandContext } from '../cli/command.js';
import { cliFlags, connectionBlock, shellQuote, shownPath, tryLines } from './banner.js';
import type { ControlPlane } from './control-plane.js';
import type { StartedGateway } from './gateways.js';
import type { DemoService } from './local-mesh.js';
import type { MeshCall, MeshCalls } from './mesh-calls.js';

export interface UpSummary {
  readonly api: ControlPlane;
  readonly dataDir: string;
  /** The `Applied FILE (...)` line and what changed. */
  readonly applied: readonly string[];
  readonly gateways: readonly (StartedGateway & { readonly ready: boolean; readonly version: string })[];
  /** The convergence line. */
  readonly converged: string;
  readonly services: readonly DemoService[];
  /** Calls through the mesh to try (`mesh-calls.ts`); none when the mesh offers none. */
  readonly calls: MeshCalls;
  /** A policy change to try (`examples/payments-policy.yaml`), when the mesh is the demo. */
  readonly policyExample?: string;
  /** A federated mesh: each cloud's control plane. @default one control plane */
  readonly controlPlanes?: readonly { readonly cloud: string; readonly url: string }[];
}

export function upSummary(s: UpSummary, ctx: CommandContext): string {
  const shown = (path: string) => shownPath(path, ctx.cwd);
  const flags = cliFlags(s.api.url, s.dataDir, ctx);
  const first = s.gateways[0];
  const planes = s.controlPlanes ?? [];
  const parts = [
    planes.length > 0
      ? `${planes.length} control planes (${planes.map((p) => p.cloud).join(', ')})`
      : 'the control plane',
    `${s.gateways.length} gateway agent${s.gateways.length === 1 ? '' : 's'}`,
    `${s.services.length} demo service${s.services.length === 1 ? '' : 's'}`,
  ];
  return [
    `weft is up: ${parts.join(', ')}, all on this machine.`,
    ...connectionBlock(s.api, s.dataDir, ctx, { url: true }),
    ...(planes.length > 0
      ? [
          '',
          'Control planes (`weft serve` processes, each with its own store and keys in DATA/<cloud>, replicating):',
          ...table([
            ['CLOUD', 'API', 'LOG'],
            ...planes.map((p) => [p.cloud, p.url, `${shown(s.dataDir)}/${p.cloud}/serve.log`]),
          ]),
          `  The mesh was applied at ${planes[0]!.cloud} and relayed to the others; any of them takes writes.`,
          '  Type `stop gcp` (or aws, azure) and Enter to take one down, `start gcp` to bring it back.',
        ]
      : []),
    '',
    ...s.applied,
    '',
    `Gateway agents (\`weft agent\` processes; state in ${shown(s.dataDir)}/agents/<env>, log in ${shown(s.dataDir)}/agents/<env>.log):`,
    ...table([
      ['GATEWAY', 'ADMIN', 'INGRESS (mTLS)', 'EGRESS', 'APPLIED'],
      ...s.gateways.map((g) => [
        `${g.gateway.environment}/${g.gateway.name}`,
        g.child.admin,
        g.gateway.ingressAddress,
        g.gateway.egressAddress,
        `${g.version}${g.ready ? '' : '  (not ready: curl its /readyz)'}`,
      ]),
    ]),
    `  ${s.converged}`,
    '',
    'Demo services (each answers with the service, environment, path and headers it got):',
    ...table(
      byEnvironment(s.services, s.gateways).map((d) => [
        d.environment,
        `${d.service}.${d.namespace}`,
        `http://${d.host}:${d.port}`,
      ]),
    ),
    '',
    'Try:',
    `  npx weft get gateways${flags}`,
    ...(first
      ? [
          `  curl ${first.child.admin}/config            # the config the ${first.gateway.environment} gateway runs`,
          `  curl -s ${first.child.admin}/metrics | grep weft_config`,
        ]
      : []),
    ...meshCallLines(s.calls, flags),
    ...(s.policyExample
      ? [
          `  npx weft apply -f ${shown(s.policyExample)} --wait${flags}   # a policy change; only the gateways it concerns apply it`,
        ]
      : []),
    ...tryLines(s.api, s.dataDir, ctx),
    '',
    `Ctrl-C stops weft (the agents, then the control planes); state stays in ${shown(s.dataDir)}.`,
  ].join('\n');
}

/**
 * curl through the caller's egress, as the caller: `weft svid mint` (an
 * admin's JWT-SVID) runs inside the line, so it works however late it is pasted.
 */
function meshCallLines(calls: MeshCalls, flags: string): string[] {
  const curl = (c: MeshCall) => {
    const mint = `npx weft svid mint --spiffe-id ${shellQuote(c.identity)}${flags}`;
    return `  curl -i -x ${c.egress} -H "Authorization: Bearer $(${mint})" ${c.url}`;
  };
  const { allowed, denied } = calls;
  return [
    ...(allowed
      ? [
          `${curl(allowed)}   # as ${shortName(allowed.identity)}: ${allowed.from} -> ${allowed.to} through both gateways; 200 from ${allowed.service.name} in ${allowed.to}`,
        ]
      : []),
    ...(denied
      ? [`${curl(denied)}   # 403 problem+json: denied at the ${denied.to} gateway by ${denied.decidedBy}`]
      : []),
  ];
}

/** `frontend` of `spiffe://td/ns/shop/svc/frontend`. */
const shortName = (spiffeId: string) => spiffeId.slice(spiffeId.lastIndexOf('/') + 1);

/** Rows as aligned, indented lines. */
function table(rows: readonly string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => r[i]!.length))) ?? [];
  return rows.map((r) => `  ${r.map((c, i) => (i < r.length - 1 ? c.padEnd(widths[i]!) : c)).join('  ')}`);
}

/** Services grouped by environment, in the order the gateways are listed. */
function byEnvironment(services: readonly DemoService[], gateways: UpSummary['gateways']): DemoService[] {
  const order = (env: string) => {
    const i = gateways.findIndex((g) => g.gateway.environment === env);
    return i < 0 ? gateways.length : i;
  };
  return [...services].sort((a, b) => order(a.environment) - order(b.environment));
}
