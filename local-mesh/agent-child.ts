/**
 * One gateway agent as `weft up` runs it: a real child process
 * (`node bin/weft.js agent ...`), exactly what an operator would start on a
 * VM. Its JSON log goes straight to a file (not through `weft up`, so it
 * keeps logging even if `weft up` dies first), and readiness is the
 * `"msg":"ready"` line the agent writes once it has an identity and is
 * syncing. The child gets its own process group, so a terminal's Ctrl-C
 * reaches `weft up` alone and the agents are stopped in order; a preloaded
 * guard (`exit-with-parent.js`) stops it should `weft up` vanish.
 *
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { open } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { CliError, EXIT } from '../cli/errors.js';
import { projectFile } from '../process/project-root.js';
import type { Running } from '../process/stack.js';
import { readLogFrom, waitForLogLine } from './log-file.js';

export const WEFT_BIN = projectFile('bin/weft.js');
// Plain JavaScript, not compiled: the same file from the checkout and from dist.
export const GUARD = pathToFileURL(projectFile('local-mesh/exit-with-parent.js')).href;
/** How long a stopping agent gets before it is killed. */
const STOP_GRACE_MS = 10_000;

export interface AgentChildOptions {
  readonly environment: string;
  readonly name: string;
  readonly controlPlaneUrl: string;
  /** Other control planes it fails over to, after home. @default none */
  readonly peerControlPlaneUrls?: readonly string[];
  readonly adminAddress: string;
  readonly dataDir: string;
  /** Given only when the data directory holds no usable identity; passed in the environment, not argv. */
  readonly joinToken?: string;
  readonly logFile: string;
  /** Told when the agent exits without being asked to (after it was ready). */
  readonly onUnexpectedExit: (code: number | null, signal: NodeJS.Signals | null) => void;
  /** Aborts the wait for the ready line (Ctrl-C during start-up). */
  readonly signal?: AbortSignal;
  /** @default 60 s */
  readonly readyTimeoutMs?: number;
}

/** A ready agent. */
export interface AgentChild extends Running {
  readonly pid: number;
  /** `http://host:port` of its admin server, from the ready line. */
  readonly admin: string;
  /** SIGKILL to its whole process group: for a second Ctrl-C. */
  kill(): void;
}

/**
 * Starts the agent and resolves once it logged `ready`.
 *
 * @throws CliError when it exits first (with the agent's own last error
 *   line: a join token it needs, an address in use) or is not ready in time.
 */
export async function startAgentChild(o: AgentChildOptions): Promise<AgentChild> {
  const log = await open(o.logFile, 'a', 0o600);
  const from = (await log.stat()).size;
  const env = { ...process.env };
  delete env.WEFT_JOIN_TOKEN;
  if (o.joinToken) env.WEFT_JOIN_TOKEN = o.joinToken;
  const child = spawn(
    process.execPath,
    [
      ...['--import', GUARD, WEFT_BIN, 'agent'],
      ...['--environment', o.environment, '--name', o.name, '--control-plane', o.controlPlaneUrl],
      ...(o.peerControlPlaneUrls ?? []).flatMap((url) => ['--control-plane', url]),
      ...['--data', o.dataDir, '--admin-address', o.adminAddress],
    ],
    { env, detached: true, stdio: ['ignore', log.fd, log.fd] },
  );
  // The child holds its own copy of the descriptor.
  await log.close();
  const { exited, stop, stopping } = supervise(child);
  const who = `gateway ${o.environment}/${o.name}`;
  const ready = await waitForLogLine(o.logFile, from, (l) => l.msg === 'ready', {
    exited,
    timeoutMs: o.readyTimeoutMs ?? 60_000,
    ...(o.signal && { signal: o.signal }),
  }).catch(async (error: unknown) => {
    // Ctrl-C during start-up: the agent stops cleanly mid-attestation too.
    await stop();
    throw error;
  });
  if (ready === 'exited' || ready === 'timeout') {
    await stop();
    const last = lastError(await readLogFrom(o.logFile, from));
    const what = ready === 'exited' ? 'exited before it was ready' : 'was not ready in time';
    throw new CliError(`${who} ${what}: ${last ?? 'no error logged'} (log: ${o.logFile})`, EXIT.failed);
  }
  void exited.then(({ code, signal }) => stopping() || o.onUnexpectedExit(code, signal));
  return {
    name: who,
    pid: child.pid!,
    admin: `http://${ready.adminAddress}`,
    kill: () => killGroup(child),
    async close() {
      const { code, signal } = await stop();
      if (code !== 0) throw new Error(`exited with ${code ?? signal}`);
    },
  };
}

/**
 * A started child's end: `exited` settles when it is gone; `stop` asks it
 * (SIGTERM) and kills its group after the grace; `stopping` says whether
 * its end was asked for (else it is unexpected).
 */
export function supervise(child: ChildProcess, graceMs = STOP_GRACE_MS) {
  let asked = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const stop = async () => {
    asked = true;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => killGroup(child), graceMs);
    const end = await exited;
    clearTimeout(timer);
    return end;
  };
  return { exited, stop, stopping: () => asked };
}

/** SIGKILL to the child's whole process group (it was started detached). */
export function killGroup(child: ChildProcess): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

/** The agent's last word: the CLI's `error: ...` line, or the last error-level log message. */
function lastError(text: string): string | undefined {
  const lines = text.split('\n').filter(Boolean).reverse();
  const cli = lines.find((l) => l.startsWith('error: '));
  if (cli) return cli.slice('error: '.length);
  for (const line of lines) {
    try {
      const event = JSON.parse(line) as { level?: string; msg?: string; why?: string };
      if (event.level === 'error' || event.level === 'fatal' || event.level === 'warn')
        return [event.msg, event.why].filter(Boolean).join(': ');
    } catch {
      return line;
    }
  }
  return undefined;
}
