/**
 * The child side of a benchmark gateway process's control channel: JSON
 * lines out on stdout, commands in on stdin.
 *
 * - `ready` once listening, with the pid and whatever the process adds
 * - `stats` -> `{"type":"stats",...}`: `process.cpuUsage()`, RSS, heap, plus extras
 * - `profile-start` -> `{"type":"profiling"}`: the V8 sampling profiler (what
 *   `node --cpu-prof` runs) starts in process, so a window can be profiled
 *   without start-up in it
 * - `profile-stop <file>` -> `{"type":"profiled"}` once the `.cpuprofile` is written
 * - SIGTERM or stdin closing -> `close()`, then `{"type":"exit",...stats}`, then exit
 *
 * @module
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { createInterface } from 'node:readline';

/** What the process hooks in. */
export interface ControlOptions {
  /** Fields the process adds to `ready`. */
  readonly ready: Record<string, unknown>;
  /** Fields the process adds to `stats` and `exit`. */
  readonly extraStats?: () => Promise<Record<string, unknown>>;
  readonly close: () => Promise<void>;
}

const say = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);

/** Announces `ready` and serves the control channel until SIGTERM. */
export function serveControl(options: ControlOptions): void {
  const stats = async (type: 'stats' | 'exit') => {
    const cpu = process.cpuUsage();
    const memory = process.memoryUsage();
    const extra = (await options.extraStats?.()) ?? {};
    say({
      type,
      cpuUserUs: cpu.user,
      cpuSystemUs: cpu.system,
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      ...extra,
    });
  };
  let session: Session | undefined;
  const profile = async (command: string) => {
    if (command === 'profile-start' && !session) {
      session = new Session();
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
      say({ type: 'profiling' });
    } else if (command.startsWith('profile-stop ') && session) {
      const { profile } = await session.post('Profiler.stop');
      await writeFile(command.slice('profile-stop '.length), JSON.stringify(profile));
      session.disconnect();
      session = undefined;
      say({ type: 'profiled' });
    }
  };
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await options.close().catch(() => undefined);
    await stats('exit');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  const input = createInterface({ input: process.stdin });
  input.on('line', (line) => {
    const command = line.trim();
    if (command === 'stats') void stats('stats');
    else if (command.startsWith('profile-')) void profile(command);
  });
  input.on('close', () => void stop());
  say({ type: 'ready', pid: process.pid, ...options.ready });
}
