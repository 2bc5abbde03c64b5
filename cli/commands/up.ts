/**
 * `weft up` (and `npm start`): the whole local mesh on one machine. The
 * control plane, the mesh file applied through it, a demo service per
 * Workload and a gateway agent per Gateway, each agent a real `weft agent`
 * child process on its environment's loopback address. Progress goes to
 * stderr, the summary to stdout; Ctrl-C stops the agents, then the API.
 *
 * @module
 */
import { resolve } from 'node:path';
import { trustDomainOf } from '../../local-mesh/agent-identity.js';
import { shownPath } from '../../local-mesh/banner.js';
import { startDemoServices } from '../../local-mesh/demo-services.js';
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
import { type Command, stringFlag } from '../command.js';
import { resolveDataDir } from '../connection.js';
import { readManifests } from '../manifests.js';
import { DEFAULT_API_PORT } from './serve.js';

/** The demo mesh, found next to the code so `weft up` works from any directory. */
const DEMO_MESH = projectFile('examples/demo-mesh.yaml');
const POLICY_EXAMPLE = projectFile('examples/payments-policy.yaml');

export const upCommand: Command = {
  name: 'up',
  usage: 'up [--data DIR] [--api-port N] [--mesh FILE]',
  description: [
    'Starts the control plane on the embedded store in DIR and applies the mesh file',
    '(again on every start: unchanged documents stay as they are, edited ones are set back).',
    'Then, for each Workload, a demo service on its loopback address, and for each Gateway a',
    "`weft agent` process whose admin port is where the Gateway's webhook points; it waits",
    'until every gateway applied the mesh. Ctrl-C stops the agents, then the API; state',
    'stays in DIR (agents in DIR/agents/<env>), and the next start resumes from it.',
  ].join('\n'),
  flags: [
    ['--data DIR', 'state, keys, admin token and agents (env WEFT_DATA; default .weft)'],
    ['--api-port N', `port of the API (default ${DEFAULT_API_PORT}; 0 picks a free one)`],
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
    // Ctrl-C during start-up cuts the waits short; a second one kills the children and exits.
    const startup = new AbortController();
    const stopped = stopSignal(() => stack.kill()).then(() => startup.abort());
    const progress = (line: string) => ctx.err(line);
    try {
      const manifests = await readManifests([meshFile], ctx);
      const plan = planLocalMesh(manifests.map((m) => m.document));
      await probeLocalMesh(plan);
      progress(`starting the control plane on ${shownPath(dataDir, ctx.cwd)}`);
      const { startControlPlane } = await import('../../local-mesh/control-plane.js');
      const api = stack.add(
        await startControlPlane({ dataDir, host: '127.0.0.1', port, onError: (l) => ctx.err(l) }),
      );
      const client = new ApiClient({
        server: api.url,
        token: api.adminToken,
        tokenSource: 'file',
        tokenFile: api.adminTokenFile,
      });
      const applied = await applyMeshFile(client, manifests, meshFile);
      progress(applied.lines[0]!);
      const services = stack.add(await startDemoServices(plan.services));
      progress(`${services.listening.length} demo services listening`);
      startup.signal.throwIfAborted();
      const gateways = stack.add(
        await startGateways({
          gateways: plan.gateways,
          client,
          controlPlaneUrl: api.url,
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
    await stopped;
    progress('stopping: the gateway agents, then the API');
    const code = await shutDown(stack, (l) => ctx.err(l));
    ctx.out(`weft stopped; state stays in ${shownPath(dataDir, ctx.cwd)}.`);
    return code;
  },
};
