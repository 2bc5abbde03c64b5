/**
 * What each Lambda function costs to ship and to start: every entry in
 * `WEFT_FUNCTIONS` bundled with esbuild exactly as `WEFT_BUNDLING` says
 * (the AWS SDK left to the nodejs22.x runtime), its size minified and
 * gzipped, and its cold import: a fresh `node` that imports the bundle and
 * stops when the import resolves (the handler is not called: composition
 * happens on the first call). `@aws-sdk/*` resolves from the repo's
 * node_modules, so the runtime SDK's import cost is counted. Runs are
 * interleaved with `node -e 0` and with the same runner importing an empty
 * module, so the baselines share the machine's weather. A second bundle per
 * entry with the SDK inside shows why the SDK is taken from the runtime.
 * Targets: at most 300 KiB minified per bundle, at most 100 ms of import
 * over `node -e 0`. An entry not yet written is skipped, not an error.
 *
 * @module
 */
import { execFile } from 'node:child_process';
import { access, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { type BuildOptions, build, type Message, type Metafile } from 'esbuild';
import { WEFT_BUNDLING, WEFT_FUNCTIONS } from '../infra/aws/functions.js';
import { percentile, round, writeResults } from './harness.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RUNS = Number(process.env.WEFT_BENCH_FUNCTIONS_RUNS ?? 15);
const TARGET_BYTES = 300 * 1024;
const TARGET_IMPORT_MS = 100;
const TOP = 8;

/** Whether `@aws-sdk/*` is left to the Lambda runtime (WEFT_BUNDLING) or bundled in. */
export type Variant = 'runtime-sdk' | 'bundled-sdk';

/** One bundle of one entry: what went in and what it weighs. */
interface Bundle {
  readonly entry: string;
  readonly variant: Variant;
  readonly file?: string;
  readonly bytes?: number;
  readonly gzipBytes?: number;
  readonly topInputs?: readonly { path: string; bytes: number }[];
  readonly topPackages?: readonly { name: string; bytes: number; via: readonly string[] }[];
  readonly buildError?: string;
}

interface Timing {
  readonly wallP50Ms: number;
  readonly wallP90Ms: number;
  /** performance.now() around `await import(...)` inside the child. */
  readonly importP50Ms: number;
  /** CPU time (user + system) of that import: what a busy machine inflates least. */
  readonly importCpuP50Ms: number;
  readonly overNodeMs: number;
}

/** Runs the functions benchmark, prints its table and writes `bench/results/functions.json`. */
export async function benchFunctions(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-bench-functions-'));
  try {
    // Bundles live outside the repo, yet `@aws-sdk/*` must resolve as the runtime's would.
    await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    const runner = join(dir, 'import.mjs');
    await writeFile(runner, RUNNER);
    const empty = join(dir, 'empty.mjs');
    await writeFile(empty, '');

    const present: string[] = [];
    const skipped: { name: string; entry: string }[] = [];
    for (const fn of WEFT_FUNCTIONS) {
      if (await exists(join(ROOT, fn.entry))) present.push(fn.entry);
      else {
        skipped.push({ name: fn.name, entry: fn.entry });
        console.log(`skip ${fn.name}: ${fn.entry} does not exist yet`);
      }
    }
    const entries = [...new Set(present)];
    const bundles: Bundle[] = [];
    for (const entry of entries) {
      for (const variant of ['runtime-sdk', 'bundled-sdk'] as const) {
        console.error(`bundling ${entry} (${variant}) ...`);
        bundles.push(await bundle(entry, variant, dir));
      }
    }

    const subjects = [
      { key: 'node -e 0', args: ['-e', '0'] },
      { key: 'empty module', args: [runner, empty] },
      ...bundles.filter((b) => b.file).map((b) => ({ key: keyOf(b), args: [runner, b.file!] })),
    ];
    const samples = await timeInterleaved(subjects);
    const node = samples.get('node -e 0')!;
    const nodeP50 = p50(node.wall);
    const timingOf = (key: string): Timing | { importError: string } => {
      const s = samples.get(key)!;
      if (s.error) return { importError: s.error };
      return {
        wallP50Ms: round(p50(s.wall), 1),
        wallP90Ms: round(percentile(sorted(s.wall), 0.9), 1),
        importP50Ms: round(p50(s.import), 1),
        importCpuP50Ms: round(p50(s.cpu), 1),
        overNodeMs: round(p50(s.wall) - nodeP50, 1),
      };
    };

    const rows = WEFT_FUNCTIONS.filter((fn) => present.includes(fn.entry)).map((fn) => {
      const variants = bundles
        .filter((b) => b.entry === fn.entry)
        .map((b) => {
          const timing = b.file ? timingOf(keyOf(b)) : undefined;
          const exported = b.file ? samples.get(keyOf(b))!.exports : [];
          return {
            ...b,
            file: undefined,
            ...timing,
            ...(b.file && { handlerExported: exported.includes(fn.handler) }),
            ...(b.bytes !== undefined &&
              timing &&
              'overNodeMs' in timing && {
                sizeTargetMet: b.bytes <= TARGET_BYTES,
                importTargetMet: timing.overNodeMs <= TARGET_IMPORT_MS,
              }),
          };
        });
      return { name: fn.name, entry: fn.entry, handler: fn.handler, variants };
    });

    const baseline = {
      nodeE0: { wallP50Ms: round(nodeP50, 1), wallP90Ms: round(percentile(sorted(node.wall), 0.9), 1) },
      emptyModule: timingOf('empty module'),
    };
    print(baseline, rows);
    printContents(bundles);
    const file = await writeResults('functions', {
      runs: RUNS,
      targets: { maxMinifiedBytes: TARGET_BYTES, maxImportOverNodeMs: TARGET_IMPORT_MS },
      bundling: WEFT_BUNDLING,
      baseline,
      skipped,
      rows,
    });
    console.log(`\nresults: ${file}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The child: imports one module and reports how long `await import` took,
 * its exports, then exits at once (an open handle must not add to the wall time).
 */
const RUNNER = `import { pathToFileURL } from 'node:url';
const cpu = process.cpuUsage();
const started = performance.now();
try {
  const module = await import(pathToFileURL(process.argv[2]).href);
  const importMs = performance.now() - started;
  const { user, system } = process.cpuUsage(cpu);
  process.stdout.write(JSON.stringify({ importMs, cpuMs: (user + system) / 1000, exports: Object.keys(module) }));
  process.exit(0);
} catch (error) {
  process.stderr.write(String(error?.stack ?? error));
  process.exit(1);
}
`;

/**
 * esbuild's options for `entry` (relative to the project root) from
 * `WEFT_BUNDLING`, as the CDK construct bundles it (`bundled-sdk`: the AWS
 * SDK inside the bundle); `runtime-sdk` adds the `@aws-sdk/*` external, the
 * alternative of taking the SDK from the Lambda runtime, for comparison.
 *
 * @example
 * await build(functionBuildOptions('functions/aws/api-handler.ts', 'runtime-sdk', '/tmp/api/index.mjs'));
 */
export function functionBuildOptions(entry: string, variant: Variant, outfile: string) {
  const { banner, external, mainFields, ...rest } = WEFT_BUNDLING;
  return {
    ...rest,
    banner: { js: banner },
    external: variant === 'runtime-sdk' ? [...external, '@aws-sdk/*'] : [...external],
    mainFields: [...mainFields],
    entryPoints: [join(ROOT, entry)],
    absWorkingDir: ROOT,
    outfile,
    bundle: true,
    metafile: true,
    logLevel: 'silent',
  } satisfies BuildOptions;
}

async function bundle(entry: string, variant: Variant, dir: string): Promise<Bundle> {
  const outfile = join(dir, `${basename(entry, '.ts')}-${variant}`, 'index.mjs');
  try {
    const result = await build(functionBuildOptions(entry, variant, outfile));
    const output = Object.values(result.metafile.outputs)[0]!;
    const contents = await readFile(outfile);
    return {
      entry,
      variant,
      file: outfile,
      bytes: output.bytes,
      gzipBytes: gzipSync(contents).length,
      ...contentsOf(result.metafile, join(ROOT, entry)),
    };
  } catch (error) {
    const errors = (error as { errors?: Message[] }).errors;
    const text = errors?.length
      ? errors
          .map((m) => `${m.location ? `${m.location.file}:${m.location.line}: ` : ''}${m.text}`)
          .join('; ')
      : String(error);
    return { entry, variant, buildError: text };
  }
}

/** The largest inputs by bytes in the output, and the same grouped by npm package with the import that pulls each in. */
function contentsOf(metafile: Metafile, entryPath: string) {
  const output = Object.values(metafile.outputs)[0]!;
  const inputs = Object.entries(output.inputs)
    .map(([path, { bytesInOutput }]) => ({ path, bytes: bytesInOutput }))
    .sort((a, b) => b.bytes - a.bytes);
  const packages = new Map<string, number>();
  for (const { path, bytes } of inputs) {
    const name = packageOf(path) ?? '(weft sources)';
    packages.set(name, (packages.get(name) ?? 0) + bytes);
  }
  const firstImports = firstPartyImporters(metafile, entryPath);
  const topPackages = [...packages]
    .map(([name, bytes]) => ({ name, bytes, via: firstImports.get(name) ?? [] }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, TOP);
  return { topInputs: inputs.slice(0, TOP), topPackages };
}

/** `node_modules/@scope/name/...` -> `@scope/name` (the innermost node_modules). */
function packageOf(path: string): string | undefined {
  const at = path.lastIndexOf('node_modules/');
  if (at < 0) return undefined;
  const [first, second] = path.slice(at + 'node_modules/'.length).split('/');
  return first?.startsWith('@') ? `${first}/${second}` : first;
}

/**
 * For each package, the weft files that pull it in (directly, or through
 * the packages they import), nearest the entry first: where an import
 * could change to keep the package out.
 */
function firstPartyImporters(metafile: Metafile, entryPath: string): Map<string, string[]> {
  const entry = Object.keys(metafile.inputs).find((p) => join(ROOT, p) === entryPath)!;
  const origin = new Map<string, string>([[entry, entry]]);
  const queue = [entry];
  const found = new Map<string, string[]>();
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    const from = packageOf(file) ? origin.get(file)! : file;
    for (const { path } of metafile.inputs[file]?.imports ?? []) {
      const pkg = packageOf(path);
      if (pkg && pkg !== packageOf(file)) {
        const via = found.get(pkg) ?? [];
        if (!via.includes(from) && via.length < 3) found.set(pkg, [...via, from]);
      }
      if (!origin.has(path) && metafile.inputs[path]) {
        origin.set(path, from);
        queue.push(path);
      }
    }
  }
  return found;
}

interface Samples {
  readonly wall: number[];
  readonly import: number[];
  readonly cpu: number[];
  exports: string[];
  error?: string;
}

/** RUNS rounds; each round runs every subject once, the order rotated so no subject always goes first. */
async function timeInterleaved(subjects: readonly { key: string; args: string[] }[]) {
  const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
  const samples = new Map<string, Samples>(
    subjects.map((s) => [s.key, { wall: [], import: [], cpu: [], exports: [] }]),
  );
  const once = async (subject: { key: string; args: string[] }, timed: boolean) => {
    const s = samples.get(subject.key)!;
    if (s.error) return;
    const started = performance.now();
    try {
      const { stdout } = await run(process.execPath, subject.args, { env, cwd: ROOT });
      const wall = performance.now() - started;
      const report = stdout
        ? (JSON.parse(stdout) as { importMs: number; cpuMs: number; exports: string[] })
        : undefined;
      s.exports = report?.exports ?? [];
      if (timed) {
        s.wall.push(wall);
        s.import.push(report?.importMs ?? 0);
        s.cpu.push(report?.cpuMs ?? 0);
      }
    } catch (error) {
      const stderr = (error as { stderr?: string }).stderr?.trim();
      s.error = (stderr || String(error)).split('\n').slice(0, 6).join('\n');
    }
  };
  // One untimed round first: the file cache, not the bundle, is what a first run measures.
  for (const subject of subjects) await once(subject, false);
  console.error(`timing ${subjects.length} subjects x ${RUNS} runs, interleaved ...`);
  for (let i = 0; i < RUNS; i++) {
    for (let j = 0; j < subjects.length; j++) await once(subjects[(i + j) % subjects.length]!, true);
  }
  return samples;
}

const keyOf = (b: Bundle) => `${b.entry} ${b.variant}`;
const sorted = (xs: readonly number[]) => [...xs].sort((a, b) => a - b);
const p50 = (xs: readonly number[]) => percentile(sorted(xs), 0.5);
const kib = (bytes: number | undefined) => (bytes === undefined ? '' : (bytes / 1024).toFixed(1));

type Row = {
  name: string;
  variants: (Omit<Bundle, 'file'> & Partial<Timing> & { importError?: string; handlerExported?: boolean })[];
};

function print(baseline: { nodeE0: { wallP50Ms: number }; emptyModule: object }, rows: readonly Row[]): void {
  const empty = baseline.emptyModule as Partial<Timing>;
  const header = [
    'function',
    'bundle',
    'min KiB',
    'gzip KiB',
    'wall ms',
    'import ms',
    'cpu ms',
    'over node',
    'target',
  ];
  const lines = [
    header,
    ['node -e 0 (baseline)', '', '', '', String(baseline.nodeE0.wallP50Ms), '', '', '', ''],
    [
      'empty module (runner)',
      '',
      '',
      '',
      String(empty.wallP50Ms),
      String(empty.importP50Ms),
      String(empty.importCpuP50Ms),
      `+${empty.overNodeMs}`,
      '',
    ],
  ];
  for (const row of rows) {
    for (const v of row.variants) {
      const label = v.variant === 'runtime-sdk' ? 'sdk external' : 'sdk bundled';
      if (v.buildError) {
        lines.push([row.name, label, 'build failed', '', '', '', '', '', '']);
        continue;
      }
      if (v.importError) {
        lines.push([row.name, label, kib(v.bytes), kib(v.gzipBytes), 'import failed', '', '', '', '']);
        continue;
      }
      const size = v.bytes! <= TARGET_BYTES ? 'size met' : `size MISSED +${kib(v.bytes! - TARGET_BYTES)} KiB`;
      const start = !v.handlerExported
        ? 'HANDLER NOT EXPORTED'
        : v.overNodeMs! <= TARGET_IMPORT_MS
          ? 'import met'
          : `import MISSED +${round(v.overNodeMs! - TARGET_IMPORT_MS, 1)} ms`;
      lines.push([
        row.name,
        label,
        kib(v.bytes),
        kib(v.gzipBytes),
        String(v.wallP50Ms),
        String(v.importP50Ms),
        String(v.importCpuP50Ms),
        `+${v.overNodeMs}`,
        v.variant === 'bundled-sdk' ? `${size}, ${start}` : '(comparison)',
      ]);
    }
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  console.log(
    `\nLambda bundles (WEFT_BUNDLING), median of ${RUNS} cold imports; targets <= ${kib(TARGET_BYTES)} KiB minified, <= ${TARGET_IMPORT_MS} ms over node -e 0`,
  );
  for (const [n, line] of lines.entries()) {
    console.log(
      line.map((c, i) => (i < 2 || i === 8 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '),
    );
    if (n === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
  const reported = new Set<string>();
  for (const row of rows) {
    for (const v of row.variants) {
      const problem = v.buildError
        ? `build failed: ${v.buildError}`
        : v.importError && `import failed:\n${v.importError}`;
      const key = `${v.entry} ${v.variant}`;
      if (!problem || reported.has(key)) continue;
      reported.add(key);
      console.log(`\n${v.entry} (${v.variant}) ${problem}`);
    }
  }
}

/** What fills each bundle: top inputs, and top packages with the weft file that imports each. */
function printContents(bundles: readonly Bundle[]): void {
  for (const b of bundles) {
    if (!b.topInputs) continue;
    console.log(`\n${b.entry} (${b.variant}), ${kib(b.bytes)} KiB: top inputs`);
    for (const i of b.topInputs) console.log(`  ${kib(i.bytes).padStart(7)}  ${i.path}`);
    console.log('  by package (imported from):');
    for (const p of b.topPackages!) {
      console.log(
        `  ${kib(p.bytes).padStart(7)}  ${p.name}${p.via.length ? `  <- ${p.via.join(', ')}` : ''}`,
      );
    }
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
