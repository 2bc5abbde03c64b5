/**
 * The parent side of a benchmark gateway process (`gateway-process.ts` for
 * weft, `floor-process.ts` for bare Node), each its own `node --import tsx`
 * child so each has its own CPU and RSS: start it with a config file, wait
 * for `ready`, ask for stats and profiles, stop it (see `control.ts`).
 *
 * @module
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Child, startChild } from './children.js';
import type { ProcessGroup } from './proc.js';

const REPO = join(import.meta.dirname, '..', '..');

/** Which child script. */
export type GatewayScript = 'gateway-process' | 'floor-process';

/** What the process says of itself (`stats` and `exit` lines). */
export interface GatewayStats {
  readonly type: 'stats' | 'exit';
  readonly cpuUserUs: number;
  readonly cpuSystemUs: number;
  readonly rss: number;
  readonly heapUsed: number;
  /** weft: `weft_requests_total` by response code. */
  readonly byStatus?: Record<string, number>;
}

/** A running gateway process; `R` is what its `ready` line carries. */
export interface NodeGateway<R> {
  readonly label: string;
  readonly pid: number;
  /** Its one process, as the measurements read it. */
  readonly group: ProcessGroup;
  readonly ready: R;
  stats(): Promise<GatewayStats>;
  /** Starts the V8 CPU profiler in the process. */
  startProfile(): Promise<void>;
  /** Stops it and has the process write the profile (`.cpuprofile` JSON) to `file`. */
  stopProfile(file: string): Promise<void>;
  /** Stops it; its exit stats, when it said them before going. */
  stop(): Promise<GatewayStats | undefined>;
}

function ofType<T>(type: string) {
  return (line: string): T | undefined => {
    try {
      const value = JSON.parse(line) as { type?: string };
      return value.type === type ? (value as T) : undefined;
    } catch {
      return undefined;
    }
  };
}

/** Writes `config` under `dir` as `<label>.json`, starts `script` on it, resolves once it is ready. */
export async function startNodeGateway<R>(
  label: string,
  dir: string,
  script: GatewayScript,
  config: object,
): Promise<NodeGateway<R>> {
  const configPath = join(dir, `${label}.json`);
  await writeFile(configPath, JSON.stringify(config), { mode: 0o600 });
  const path = join(import.meta.dirname, `${script}.ts`);
  const child: Child = startChild(label, process.execPath, ['--import', 'tsx', path, configPath], {
    cwd: REPO,
  });
  const ask = async <T>(command: string, answer: string, timeoutMs: number) => {
    const said = child.waitForLine(ofType<T>(answer), timeoutMs);
    child.process.stdin?.write(`${command}\n`);
    return said;
  };
  try {
    const ready = await child.waitForLine(ofType<R>('ready'), 30_000);
    let exitStats: GatewayStats | undefined;
    return {
      label,
      pid: child.pid,
      group: { label, pids: [child.pid] },
      ready,
      stats: () => ask<GatewayStats>('stats', 'stats', 5_000),
      startProfile: async () => void (await ask('profile-start', 'profiling', 5_000)),
      stopProfile: async (file) => void (await ask(`profile-stop ${file}`, 'profiled', 30_000)),
      async stop() {
        const said = child.waitForLine(ofType<GatewayStats>('exit'), 10_000).catch(() => undefined);
        await child.stop(10_000);
        exitStats ??= await said;
        return exitStats;
      },
    };
  } catch (error) {
    await child.stop(1_000);
    throw error;
  }
}
