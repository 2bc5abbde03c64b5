/**
 * How fast `weft` starts: each command as an operator runs it (a new
 * `node bin/weft.js` process, to completion) against `node -e 0` measured in
 * the same run, so the ratio is what weft adds to Node's own start. `get`
 * and `apply --dry-run` talk to a running local API host. The same
 * commands run from the TypeScript sources through tsx
 * (`WEFT_FROM_SOURCE=1`, what every command paid before the build) show
 * what the compiled CLI saves. Target (issue 10): at most 2x `node -e 0`
 * for `--help` and `get`.
 *
 * @module
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startLocalHost } from '../functions/local/host.js';
import { measure, percentile, round, writeResults } from './harness.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WEFT = join(ROOT, 'bin/weft.js');
const RUNS = Number(process.env.WEFT_BENCH_CLI_RUNS ?? 30);
const TARGET = 2;

interface Row {
  readonly command: string;
  readonly p50Ms: number;
  readonly p90Ms: number;
  /** p50 over `node -e 0`'s p50. */
  readonly ratio: number;
  readonly target?: number;
}

/** Runs the CLI benchmark, prints its table and writes `bench/results/cli.json`. */
export async function benchCli(): Promise<void> {
  console.error('building dist/ (npm run build) ...');
  await run('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT });
  const dataDir = await mkdtemp(join(tmpdir(), 'weft-bench-cli-'));
  const host = await startLocalHost({ dataDir });
  const manifest = join(dataDir, 'env.yaml');
  await writeFile(
    manifest,
    'apiVersion: weft.dev/v1\nkind: Environment\nmetadata: {name: bench}\nspec: {provider: local, region: home}\n',
  );
  const connection = ['--server', host.url, '--data', dataDir];
  const commands: [string, string[], number?][] = [
    ['weft --help', ['--help'], TARGET],
    ['weft get services', ['get', 'services', ...connection], TARGET],
    ['weft apply -f env.yaml --dry-run', ['apply', '-f', manifest, '--dry-run', ...connection]],
  ];
  try {
    // One untimed run of each first: the file cache, not weft, is what a first run measures.
    for (const [, args] of commands) await run(process.execPath, [WEFT, ...args]);
    const node = await timeProcess('node -e 0', ['-e', '0']);
    const rows: Row[] = [];
    for (const [command, args, target] of commands) {
      const built = await timeProcess(command, [WEFT, ...args]);
      rows.push({ command, ...built, ratio: round(built.p50Ms / node.p50Ms, 2), ...(target && { target }) });
    }
    for (const [command, args] of commands) {
      const source = await timeProcess(command, [WEFT, ...args], { WEFT_FROM_SOURCE: '1' });
      rows.push({
        command: `${command} (from source, tsx)`,
        ...source,
        ratio: round(source.p50Ms / node.p50Ms, 2),
      });
    }
    print(node, rows);
    const file = await writeResults('cli', { runs: RUNS, baseline: { command: 'node -e 0', ...node }, rows });
    console.log(`\nresults: ${file}`);
  } finally {
    await host.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** p50 and p90 wall time of `node ...args`, run to completion RUNS times one after another. */
async function timeProcess(
  name: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ p50Ms: number; p90Ms: number }> {
  const times: number[] = [];
  await measure(name, RUNS, 1, async () => {
    const started = performance.now();
    await run(process.execPath, args, { env: { ...process.env, ...env } });
    times.push(performance.now() - started);
  });
  times.sort((a, b) => a - b);
  return { p50Ms: round(percentile(times, 0.5), 1), p90Ms: round(percentile(times, 0.9), 1) };
}

function print(node: { p50Ms: number; p90Ms: number }, rows: readonly Row[]): void {
  const lines = [
    ['command', 'p50 ms', 'p90 ms', 'x node -e 0', 'target'],
    ['node -e 0 (baseline)', String(node.p50Ms), String(node.p90Ms), '1x', ''],
    ...rows.map((r) => [
      r.command,
      String(r.p50Ms),
      String(r.p90Ms),
      `${r.ratio}x`,
      r.target ? `<= ${r.target}x ${r.ratio <= r.target ? 'met' : 'MISSED'}` : '',
    ]),
  ];
  const widths = lines[0]!.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  console.log('\nCLI start-up: each command a new process, run to completion');
  for (const [n, line] of lines.entries()) {
    console.log(line.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
    if (n === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}
