/**
 * Google's own Pub/Sub and Firestore emulators (`gcloud beta emulators
 * pubsub start`, `gcloud emulators firestore start`, Java 17) as child
 * processes on a free loopback port, for tests that drive the real Google
 * Cloud SDKs against a real server. One emulator per test file, started in
 * `beforeAll`: each takes a second or two to answer (a JVM starting), more
 * on a loaded machine.
 *
 * The gcloud wrapper is Python and starts Java (through a shell script for
 * Firestore), so each emulator runs in a process group of its own, and
 * stopping it ends the whole group: killing the wrapper alone leaves the JVM
 * listening. gcloud runs with a configuration directory of its own, so a
 * developer's gcloud account, project or prompts never reach a test.
 *
 * What the emulators do not do, and the tests that meet it say so: the
 * Pub/Sub emulator ignores IAM and takes messages and attribute values past
 * Pub/Sub's limits (10 MB, 1024 bytes); the Firestore emulator runs no TTL
 * policy (expired documents stay until an adapter overwrites them). Neither
 * can be made unreachable quickly: against a closed port the SDKs retry for
 * their whole deadline (Firestore's: minutes), so those failures are tested
 * on a fake or with a short deadline.
 *
 * @module
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';

/** The project every emulated client names; emulators accept any. */
export const EMULATOR_PROJECT = 'weft-test';

/** A running emulator. */
export interface GcloudEmulator {
  /** `127.0.0.1:<port>`, what `*_EMULATOR_HOST` holds. */
  readonly host: string;
  readonly projectId: string;
  /**
   * What a child process needs to reach this emulator with the SDK's own
   * discovery: the `*_EMULATOR_HOST` variable, the project, and no metadata
   * server lookups (there is none here).
   */
  readonly env: Readonly<Record<string, string>>;
  /** Empties the emulator (every topic and subscription, or every document). */
  reset(): Promise<void>;
  /** Ends the emulator's whole process group and waits until it is gone. Idempotent. */
  stop(): Promise<void>;
}

/** Options of both starters. */
export interface EmulatorOptions {
  /** @default EMULATOR_PROJECT */
  readonly projectId?: string;
}

/**
 * Starts the Pub/Sub emulator and resolves once it answers. Build clients
 * with `new PubSub({ projectId, apiEndpoint: host })` (plain text, no
 * credentials: the SDK sees a non-Google endpoint).
 *
 * @example
 * const emulator = await startPubSubEmulator();
 * afterAll(() => emulator.stop());
 */
export async function startPubSubEmulator(options: EmulatorOptions = {}): Promise<GcloudEmulator> {
  const projectId = options.projectId ?? EMULATOR_PROJECT;
  return start('Pub/Sub', projectId, (host, dir) => ({
    args: ['beta', 'emulators', 'pubsub', 'start', `--host-port=${host}`, `--data-dir=${dir}`],
    env: { PUBSUB_EMULATOR_HOST: host, PUBSUB_PROJECT_ID: projectId },
    started: /Server started, listening on/,
    async reset() {
      const res = await fetch(`http://${host}/reset`, { method: 'POST' });
      if (!res.ok) throw new Error(`the Pub/Sub emulator's reset answered ${res.status}`);
    },
  }));
}

/**
 * Starts the Firestore emulator (Native mode) and resolves once it answers.
 * Build clients with `new Firestore({ projectId, host, ssl: false })`; the
 * SDK then sends `Authorization: Bearer owner`, which the emulator takes as
 * an admin, so security rules never apply.
 *
 * @example
 * const emulator = await startFirestoreEmulator();
 * afterAll(() => emulator.stop());
 * beforeEach(() => emulator.reset());
 */
export async function startFirestoreEmulator(options: EmulatorOptions = {}): Promise<GcloudEmulator> {
  const projectId = options.projectId ?? EMULATOR_PROJECT;
  return start('Firestore', projectId, (host) => ({
    args: ['emulators', 'firestore', 'start', `--host-port=${host}`, '--database-mode=firestore-native'],
    env: { FIRESTORE_EMULATOR_HOST: host },
    started: /Dev App Server is now running/,
    async reset() {
      const res = await fetch(
        `http://${host}/emulator/v1/projects/${projectId}/databases/(default)/documents`,
        { method: 'DELETE' },
      );
      if (!res.ok) throw new Error(`the Firestore emulator's reset answered ${res.status}`);
    },
  }));
}

interface Flavour {
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** The line the emulator logs once it listens. */
  readonly started: RegExp;
  reset(): Promise<void>;
}

async function start(
  name: string,
  projectId: string,
  flavour: (host: string, dir: string) => Flavour,
): Promise<GcloudEmulator> {
  // The free port is found first and may be taken before the JVM binds it: try again then.
  for (let attempt = 1; ; attempt++) {
    const dir = await mkdtemp(join(tmpdir(), 'weft-gcloud-'));
    const host = `127.0.0.1:${await freePort()}`;
    const { args, env, started, reset } = flavour(host, dir);
    const child = spawn('gcloud', [...args, `--project=${projectId}`], {
      // A group of its own: gcloud (Python) -> [sh] -> java, ended together.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        CLOUDSDK_CONFIG: join(dir, 'config'),
        CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
        CLOUDSDK_CORE_DISABLE_USAGE_REPORTING: 'true',
        CLOUDSDK_CORE_CHECK_GCE_METADATA: 'false',
        CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK: 'true',
      },
    });
    const group = processGroup(child);
    try {
      await answering(name, child, host, started);
    } catch (error) {
      await group.end();
      await rm(dir, { recursive: true, force: true });
      if (attempt < 3 && /EADDRINUSE|already in use/i.test(String(error))) continue;
      throw error;
    }
    let stopped: Promise<void> | undefined;
    return {
      host,
      projectId,
      env: { ...env, GOOGLE_CLOUD_PROJECT: projectId, METADATA_SERVER_DETECTION: 'none' },
      reset,
      stop() {
        stopped ??= group.end().then(() => rm(dir, { recursive: true, force: true }));
        return stopped;
      },
    };
  }
}

/**
 * The child's process group: `end()` sends SIGTERM to all of it, SIGKILL
 * after a grace, and resolves once no process of it is running. Should the
 * test process exit without stopping it (a crash, a missed `afterAll`), the
 * group is killed on the way out, so no JVM outlives the run.
 */
function processGroup(child: ChildProcess): { end(): Promise<void> } {
  const pgid = child.pid;
  const signal = (sig: NodeJS.Signals): void => {
    try {
      if (pgid !== undefined) process.kill(-pgid, sig);
    } catch {
      // ESRCH: nothing of the group is left.
    }
  };
  const onExit = () => signal('SIGKILL');
  process.once('exit', onExit);
  return {
    async end() {
      process.removeListener('exit', onExit);
      if (pgid === undefined) return;
      signal('SIGTERM');
      const grace = setTimeout(() => signal('SIGKILL'), 5000);
      while (await running(pgid)) await new Promise((r) => setTimeout(r, 50));
      clearTimeout(grace);
      child.stdout?.destroy();
      child.stderr?.destroy();
    },
  };
}

/**
 * Whether a process of group `pgid` is still running. On Linux from
 * `/proc`, leaving out zombies: the JVM's parent exits with it, so it is
 * init's to reap, which can take a second or more. Elsewhere by signal 0.
 */
async function running(pgid: number): Promise<boolean> {
  let pids: string[];
  try {
    pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name));
  } catch {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  }
  for (const pid of pids) {
    // `pid (comm) state ppid pgrp ...`; comm may hold spaces and parentheses.
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') return true;
  }
  return false;
}

/**
 * Resolves once the emulator has logged `started` and `GET /` answers (both
 * say `Ok`): the log line first, or another server that took the port would
 * pass for it. Rejects with the output if it cannot bind (the Pub/Sub
 * emulator then stays up, not listening), exits or hangs.
 */
async function answering(name: string, child: ChildProcess, host: string, started: RegExp): Promise<void> {
  let output = '';
  let failure: Error | undefined;
  const keep = (chunk: Buffer) => {
    // Both log every connection; keep only the start for an error message.
    if (output.length < 16_384) output += chunk;
    if (/BindException: Address already in use/.test(output))
      failure ??= new Error(`the ${name} emulator could not listen on ${host} (EADDRINUSE):\n${output}`);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.once('error', (error: NodeJS.ErrnoException) => {
    failure =
      error.code === 'ENOENT'
        ? new Error(`gcloud is not on the PATH: install the Google Cloud CLI with the ${name} emulator`)
        : error;
  });
  child.once('exit', (code, signal) => {
    failure ??= new Error(`the ${name} emulator exited (${signal ?? code}) before it answered:\n${output}`);
  });
  const deadline = Date.now() + 45_000;
  while (Date.now() < deadline) {
    if (failure) throw failure;
    if (!started.test(output)) {
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    try {
      const res = await fetch(`http://${host}/`, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      if (res.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the ${name} emulator did not answer within 45 s:\n${output}`);
}
