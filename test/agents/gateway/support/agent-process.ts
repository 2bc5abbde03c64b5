/**
 * `weft agent` as a real child process (`node bin/weft.js agent ...`), as an
 * operator or `weft up` runs it: the join token in WEFT_JOIN_TOKEN (never on
 * the command line), started when its `"msg":"ready"` log line is out, its
 * JSON log lines kept for assertions, its admin port queried over HTTP.
 * Every child is tracked so `afterAll(killAgents)` leaves none behind.
 *
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { WEFT_BIN } from '../../../cli/weft-process.js';
import { childEnv, childGroup } from '../../../support/tracked-children.js';
import { ENV, GW } from './mesh-host.js';

export interface AgentArgs {
  readonly controlPlane: string;
  readonly dataDir: string;
  readonly joinToken?: string;
  /** @default `127.0.0.1:0` */
  readonly adminAddress?: string;
  /** @default '60s' (so only a webhook explains a fast update) */
  readonly pollInterval?: string;
  /** @default the agent test gateway */
  readonly name?: string;
  /** @default the agent test environment */
  readonly environment?: string;
  /**
   * The data plane's listeners; `null`: no flag, the agent's own default (the
   * Gateway's addresses). @default `127.0.0.1:0` each, so agents of parallel
   * test files never fight over a Gateway's address or :15001
   */
  readonly ingressAddress?: string | null;
  readonly egressAddress?: string | null;
}

export interface AgentProcess {
  readonly child: ChildProcess;
  /** `http://host:port` of the admin server, from the ready line. */
  readonly admin: string;
  /** Parsed log lines so far. */
  readonly lines: Record<string, unknown>[];
  /** stdout and stderr so far, as written. */
  output(): string;
  get(path: string): Promise<{ status: number; body: string }>;
  /** Sends `signal`; resolves with the exit code once the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const children = childGroup();

const flag = (name: string, value: string | null | undefined) =>
  value === null ? [] : [name, value ?? '127.0.0.1:0'];

/** Starts `weft agent` and resolves once it logged `ready`. */
export function startAgent(args: AgentArgs): Promise<AgentProcess> {
  return startAgentWithFlags(
    [
      ...['--environment', args.environment ?? ENV, '--name', args.name ?? GW],
      ...['--control-plane', args.controlPlane],
      ...['--data', args.dataDir, '--admin-address', args.adminAddress ?? '127.0.0.1:0'],
      ...['--poll-interval', args.pollInterval ?? '60s'],
      ...flag('--ingress-address', args.ingressAddress),
      ...flag('--egress-address', args.egressAddress),
    ],
    args.joinToken,
  );
}

/** Starts `weft agent <flags>` (the join token in WEFT_JOIN_TOKEN) and resolves once it logged `ready`. */
export function startAgentWithFlags(flags: readonly string[], joinToken?: string): Promise<AgentProcess> {
  const env = childEnv(joinToken ? { WEFT_JOIN_TOKEN: joinToken } : {});
  const child = spawn(process.execPath, [WEFT_BIN, 'agent', ...flags], {
    cwd: tmpdir(),
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { exited, stop } = children.track(child);
  const lines: Record<string, unknown>[] = [];
  let raw = '';
  let partial = '';
  child.stderr!.on('data', (d: Buffer) => (raw += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`weft agent did not get ready:\n${raw}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      raw += d;
      partial += d;
      const complete = partial.split('\n');
      partial = complete.pop()!;
      for (const line of complete.filter(Boolean)) {
        const event = JSON.parse(line) as Record<string, unknown>;
        lines.push(event);
        if (event.msg !== 'ready') continue;
        clearTimeout(timer);
        const admin = `http://${event.adminAddress}`;
        resolve({
          child,
          admin,
          lines,
          output: () => raw,
          get: async (path) => {
            const res = await fetch(`${admin}${path}`);
            return { status: res.status, body: await res.text() };
          },
          stop: (signal = 'SIGTERM') => stop(signal),
        });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`weft agent exited with ${code} before it was ready:\n${raw}`));
    });
  });
}

/** Kills every agent still running. For `afterAll`. */
export const killAgents = (): Promise<void> => children.killAll();

/** A loopback port that was free a moment ago (to name a webhook before the agent binds it). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A metric's value in a Prometheus text exposition (`name{labels}` exactly as written). */
export function metric(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Resolves once the agent's `/readyz` answers 200 (usable in `beforeAll`, unlike `expect.poll`). */
export async function waitReady(agent: AgentProcess, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const res = await agent.get('/readyz');
    if (res.status === 200) return;
    last = res.body;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the agent did not get ready: ${last}\n${agent.output()}`);
}
