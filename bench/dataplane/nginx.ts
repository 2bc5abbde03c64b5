/**
 * nginx and wrk for the benchmark: found on the PATH (or `/usr/sbin`), else
 * installed with `apt-get` when we are root; and nginx instances run in the
 * foreground as children (`daemon off`, one worker), each with its own
 * prefix, pid file and temp dirs under the benchmark's temp dir.
 *
 * @module
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { startChild, waitForPort } from './children.js';
import { childrenOf, type ProcessGroup } from './proc.js';

function which(name: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/bin']) {
    const path = join(dir, name);
    if (dir && existsSync(path)) return path;
  }
  return undefined;
}

/** The path of `name`, installing Debian package `pkg` when it is missing and we may. */
export function ensureTool(name: string, pkg = name): string | undefined {
  const found = which(name);
  if (found || process.getuid?.() !== 0) return found;
  console.log(`dataplane: ${name} is missing; apt-get install -y ${pkg}`);
  try {
    const opts = {
      stdio: 'ignore' as const,
      timeout: 300_000,
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    };
    execFileSync('apt-get', ['update'], opts);
    execFileSync('apt-get', ['install', '-y', pkg], opts);
  } catch (error) {
    console.log(`dataplane: could not install ${pkg}: ${error instanceof Error ? error.message : error}`);
  }
  return which(name);
}

/** A free TCP port on 127.0.0.1 (free now; nginx binds it a moment later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function isNginx(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'nginx';
  } catch {
    return false;
  }
}

/** A running nginx master and its worker. */
export interface NginxInstance {
  readonly label: string;
  readonly port: number;
  readonly group: ProcessGroup;
  stop(): Promise<void>;
}

/** Writes `config` as `<dir>/<label>.conf`, starts nginx on it, and waits for `port` and the worker. */
export async function startNginx(
  nginx: string,
  label: string,
  dir: string,
  config: string,
  port: number,
): Promise<NginxInstance> {
  const conf = join(dir, `${label}.conf`);
  await mkdir(join(dir, `${label}-tmp`), { recursive: true });
  await writeFile(conf, config);
  const child = startChild(label, nginx, ['-p', dir, '-c', conf, '-e', 'stderr']);
  try {
    await waitForPort(port, 15_000);
    let workers: number[] = [];
    for (let i = 0; i < 100 && workers.length === 0; i++) {
      workers = childrenOf(child.pid);
      if (workers.length === 0) await new Promise((r) => setTimeout(r, 50));
    }
    return {
      label,
      port,
      group: { label, pids: [child.pid, ...workers] },
      async stop() {
        await child.stop(5_000);
        // A master killed hard leaves its worker behind: end it by its id, if it is still ours.
        for (const pid of workers) if (isNginx(pid)) process.kill(pid, 'SIGKILL');
      },
    };
  } catch (error) {
    await child.stop(1_000);
    throw error;
  }
}
