/**
 * `weft up` (and `npm start`): the whole local mesh on one machine. The
 * control plane, the mesh file applied through it, a demo service per
 * Workload and a gateway agent per Gateway, each agent a real `weft agent`
 * child process on its environment's loopback address. Progress goes to
 * stderr, the summary to stdout; Ctrl-C stops the agents, then the control planes.
 *
 * @module
 */
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { trustDomainOf } from '../../local-mesh/agent-identity.js';
import { shownPath } from '../../local-mesh/banner.js';
import { startDemoServices } from '../../local-mesh/demo-services.js';
import type { FederatedControlPlanes } from '../../local-mesh/federated-control-planes.js';
import { startGateways } from '../../local-mesh/gateways.js';
import { planLocalMesh } from '../../local-mesh/local-mesh.js';
import { findMeshCalls } from '../../local-mesh/mesh-calls.js';
import {
  appliedSnapshot,
  gatewayState,
  meshVersion,
  waitForMesh,
} from '../../local-mesh/mesh-convergence.js';
import { applyMeshFile, probeLocalMesh } from '../../local-mesh/mesh-file.js';
import { upSummary } from '../../local-mesh/up-summary.js';
import { projectFile } from '../../process/project-root.js';
import { LocalStack, shutDown, stopSignal } from '../../process/stack.js';
import { ApiClient } from '../api-client.js';
import { portFlag } from '../args.js';
import { type Command, type CommandContext, stringFlag } from '../command.js';
import { resolveDataDir } from '../connection.js';
import { CliError, EXIT, UsageError } from '../errors.js';
import { readManifests } from '../manifests.js';
import { DEFAULT_API_PORT } from './serve.js';

/** The demo mesh, found next to the code so `weft up` works from any directory. */
const DEMO_MESH = projectFile('examples/demo-mesh.yaml');
const POLICY_EXAMPLE = projectFile('examples/payments-policy.yaml');

export const upCommand: Command = {
  name: 'up',
  usage: 'up [--data DIR] [--api-port N] [--mesh FILE]',
  description: [
    'Starts three control planes, aws, gcp and azure (`weft serve --mesh DIR --cloud C` processes on',
    'ports N, N+1, N+2, each with its own store and keys in DIR/<cloud>, replicating), and applies',
    'the mesh file at aws (again on every start: unchanged documents stay, edited ones are set back).',
    'Then, for each Workload, a demo service on its loopback address, and for each Gateway a',
    "`weft agent` process whose admin port is where the Gateway's webhook points; it waits",
    'until every gateway applied the mesh. Type `stop gcp` / `start gcp` (or aws, azure) to take',
    'one control plane down and up. Ctrl-C stops the agents, then the control planes; state',
    'stays in DIR (agents in DIR/agents/<env>), and the next start resumes from it.',
  ].join('\n'),
  flags: [
    ['--data DIR', 'state, keys, admin token and agents (env WEFT_DATA; default .weft)'],
    [
      '--api-port N',
      `port of aws's API; gcp and azure take the next two (default ${DEFAULT_API_PORT}; 0: free ones)`,
    ],
    ['--mesh FILE', 'the mesh to run (default examples/demo-mesh.yaml)'],
  ],
  examples: ['weft up', 'npm start', 'weft up --data /tmp/weft --api-port 8080'],
  options: { data: { type: 'string' }, 'api-port': { type: 'string' }, mesh: { type: 'string' } },
  positionals: { min: 0, max: 0 },
  connects: false,

  async run({ values }, ctx) {
    const port = portFlag(stringFlag(values, 'api-port'), 'api-port', 'up', DEFAULT_API_PORT);
    const dataDir = resolveDataDir(values, ctx);
    const meshFile = stringFlag(values, 'mesh') ?? shownPath(DEMO_MESH, ctx.cwd);
    const stack = new LocalStack();
    let planes: FederatedControlPlanes | undefined;
    // Ctrl-C during start-up cuts the waits short; a second one kills the children and exits.
    const startup = new AbortController();
    const stopped = stopSignal(() => stack.kill()).then(() => startup.abort());
    const progress = (line: string) => ctx.err(line);
    try {
      const manifests = await readManifests([meshFile], ctx);
      const plan = planLocalMesh(manifests.map((m) => m.document));
      await probeLocalMesh(plan);
      const trustDomain = meshTrustDomain(manifests.map((m) => m.document));
      progress(`starting the control planes of aws, gcp and azure on ${shownPath(dataDir, ctx.cwd)}`);
      const { startFederatedControlPlanes, UP_CLOUDS } = await import(
        '../../local-mesh/federated-control-planes.js'
      );
      planes = stack.add(
        await startFederatedControlPlanes({
          meshDir: dataDir,
          trustDomain,
          basePort: port,
          progress,
          onUnexpectedExit: (cloud, code, signal) =>
            ctx.err(
              `warning: control plane ${cloud} exited on its own (${code ?? signal}); type \`start ${cloud}\``,
            ),
          signal: startup.signal,
        }),
      );
      const running = planes;
      const clientOf = (cloud: (typeof UP_CLOUDS)[number]) =>
        new ApiClient({
          server: running.urls[cloud],
          token: running.adminToken,
          tokenSource: 'file',
          tokenFile: running.adminTokenFile,
        });
      const client = clientOf('aws');
      const api = {
        name: 'API',
        url: running.urls.aws,
        adminToken: running.adminToken,
        adminTokenFile: running.adminTokenFile,
        logFile: join(dataDir, 'aws', 'api.log'),
        close: async () => {},
      };
      const applied = await applyMeshFile(client, manifests, meshFile);
      progress(`${applied.lines[0]!.replace(/[:.]$/, '')}, at aws`);
      const relayed = await untilReplicated(UP_CLOUDS.map(clientOf), plan.gateways.length, startup.signal);
      progress(`relayed to gcp and azure in ${relayed} ms; every cloud serves the same trust bundle`);
      const services = stack.add(await startDemoServices(plan.services));
      progress(`${services.listening.length} demo services listening`);
      startup.signal.throwIfAborted();
      const gateways = stack.add(
        await startGateways({
          gateways: plan.gateways,
          client,
          controlPlaneUrl: api.url,
          homeOf: (gateway) => {
            const home = homeCloud(
              manifests.map((m) => m.document),
              gateway.environment,
            );
            return {
              client: clientOf(home),
              urls: [home, ...UP_CLOUDS.filter((c) => c !== home)].map((c) => running.urls[c]),
            };
          },
          trustDomain: await trustDomainOf(client),
          dataDir,
          progress,
          onUnexpectedExit: (who, code, signal) =>
            ctx.err(
              `warning: ${who} exited on its own (${code ?? signal}); see its log, and restart weft up`,
            ),
          signal: startup.signal,
        }),
      );
      const converged = await waitForMesh(client, meshVersion(applied.results), ctx, startup.signal);
      const states = await Promise.all(gateways.started.map((g) => gatewayState(g.child.admin)));
      const snapshots = await Promise.all(gateways.started.map((g) => appliedSnapshot(g.child.admin)));
      ctx.out(
        upSummary(
          {
            api,
            controlPlanes: UP_CLOUDS.map((cloud) => ({ cloud, url: running.urls[cloud] })),
            dataDir,
            applied: applied.lines,
            gateways: gateways.started.map((g, i) => ({ ...g, ...states[i]! })),
            converged,
            services: services.listening,
            calls: findMeshCalls(snapshots.filter((s) => s !== undefined)),
            ...(resolve(ctx.cwd, meshFile) === DEMO_MESH && { policyExample: POLICY_EXAMPLE }),
          },
          ctx,
        ),
      );
    } catch (error) {
      if (!startup.signal.aborted) {
        await stack.close();
        throw error;
      }
    }
    const commands = planes && listenForCommands(ctx, planes, progress);
    await stopped;
    commands?.close();
    progress('stopping: the gateway agents, then the control planes');
    const code = await shutDown(stack, (l) => ctx.err(l));
    ctx.out(`weft stopped; state stays in ${shownPath(dataDir, ctx.cwd)}.`);
    return code;
  },
};

/** The Mesh document's trust domain: the mesh root is made for it before any control plane starts. */
function meshTrustDomain(documents: readonly unknown[]): string {
  const mesh = documents.find((d) => (d as { kind?: string })?.kind === 'Mesh') as
    | { spec?: { trustDomain?: string } }
    | undefined;
  const trustDomain = mesh?.spec?.trustDomain;
  if (!trustDomain) throw new UsageError('the mesh file must hold a Mesh with spec.trustDomain', 'up');
  return trustDomain;
}

/** The cloud whose control plane is `environment`'s home: its provider, or aws for one that is none of the three. */
function homeCloud(documents: readonly unknown[], environment: string): 'aws' | 'gcp' | 'azure' {
  const env = documents.find(
    (d) =>
      (d as { kind?: string }).kind === 'Environment' &&
      (d as { metadata?: { name?: string } }).metadata?.name === environment,
  ) as { spec?: { provider?: string } } | undefined;
  const provider = env?.spec?.provider;
  return provider === 'gcp' || provider === 'azure' ? provider : 'aws';
}

/**
 * Waits until every cloud holds the mesh's gateways (relayed from aws) and
 * serves the same trust bundle (authority statements exchanged).
 *
 * @returns how long that took, in ms.
 */
async function untilReplicated(
  clients: readonly ApiClient[],
  gateways: number,
  signal: AbortSignal,
): Promise<number> {
  const started = Date.now();
  const deadline = started + 60_000;
  for (;;) {
    signal.throwIfAborted();
    const views = await Promise.all(
      clients.map(async (c) => {
        const listed = await c
          .request<{ items: unknown[] }>('GET', '/v1/gateways')
          .catch(() => ({ items: [] }));
        const bundle = await c.request<{ keys: unknown[] }>('GET', '/v1/bundle').catch(() => undefined);
        return { gateways: listed.items.length, bundle: JSON.stringify(bundle?.keys ?? null) };
      }),
    );
    const same = new Set(views.map((v) => v.bundle)).size === 1 && views[0]!.bundle !== 'null';
    if (same && views.every((v) => v.gateways >= gateways)) return Date.now() - started;
    if (Date.now() > deadline)
      throw new CliError(
        'the control planes did not replicate the mesh within 60 s; see DATA/<cloud>/serve.log',
        EXIT.failed,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Lines typed into `weft up`'s terminal: `stop CLOUD` and `start CLOUD` take
 * one cloud's control plane down and up while the rest keep running (the
 * tour's outage), `status` says which run.
 */
function listenForCommands(
  ctx: CommandContext,
  planes: FederatedControlPlanes,
  progress: (line: string) => void,
): { close(): void } {
  const lines = createInterface({ input: ctx.stdin });
  const clouds = ['aws', 'gcp', 'azure'] as const;
  lines.on('line', (line) => {
    const [verb, cloud] = line.trim().split(/\s+/);
    if (!verb) return;
    const known = clouds.find((c) => c === cloud);
    if (verb === 'status') {
      progress(clouds.map((c) => `${c} ${planes.running(c) ? 'running' : 'stopped'}`).join(', '));
      return;
    }
    if ((verb !== 'stop' && verb !== 'start') || !known) {
      progress('commands: stop CLOUD, start CLOUD, status (CLOUD: aws, gcp or azure)');
      return;
    }
    const done =
      verb === 'stop'
        ? planes.stop(known).then(() => progress(`control plane ${known} stopped; the others keep running`))
        : planes
            .start(known)
            .then(() => progress(`control plane ${known} running again; it catches up by itself`));
    done.catch((error: unknown) => ctx.err(`error: ${(error as Error).message}`));
  });
  return { close: () => lines.close() };
}
