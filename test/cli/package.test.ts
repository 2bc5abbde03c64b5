/**
 * `weft` as a package, the way an operator installs it: `npm pack` of a
 * fresh copy of the project (whose `prepare` builds `dist/`), then
 * `npm install -g` of the tarball into a prefix of its own, then the `weft`
 * on that prefix's PATH run from an unrelated directory. The tarball holds
 * no TypeScript, so whatever runs is the compiled CLI.
 *
 * And which code `bin/weft.js` runs in a checkout: the build when it is
 * current, the sources (through tsx) once one is newer than the build.
 */
import { cp, mkdir, mkdtemp, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalHost } from '../../functions/local/host.js';
import { runProcess } from '../support/run-process.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** What a fresh clone has that `npm pack` needs (node_modules is linked, as `npm ci` would have made it). */
const PROJECT = [
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'README.md',
  'bin',
  'examples',
  'shared',
  'functions',
  'agents',
  'cli',
  'local-mesh',
  'process',
];

const SILENT = { info() {}, error() {} };

async function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const result = await runProcess(command, args, { cwd, env: { ...process.env, ...env }, input: '' });
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} exited ${result.code}:\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result;
}

describe('npm pack, then npm install -g', () => {
  let work: string;
  let weft: string;
  let elsewhere: string;
  let tarball: string;
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'weft-pack-'));
    const project = join(work, 'project');
    await mkdir(project);
    for (const entry of PROJECT) await cp(join(ROOT, entry), join(project, entry), { recursive: true });
    await symlink(join(ROOT, 'node_modules'), join(project, 'node_modules'), 'dir');
    await run('npm', ['pack', '--pack-destination', work, '--silent'], project);
    tarball = join(work, (await readdir(work)).find((f) => f.endsWith('.tgz'))!);
    const prefix = join(work, 'prefix');
    await run(
      'npm',
      [
        'install',
        '-g',
        '--prefix',
        prefix,
        tarball,
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--silent',
      ],
      work,
    );
    weft = join(prefix, 'bin', 'weft');
    elsewhere = join(work, 'elsewhere');
    await mkdir(elsewhere);
  }, 240_000);
  afterAll(() => rm(work, { recursive: true, force: true }));

  it('packs the compiled CLI and no TypeScript', async () => {
    const { stdout } = await run('tar', ['tzf', tarball], work);
    const files = stdout.split('\n').filter(Boolean);
    expect(files).toContain('package/dist/cli/main.js');
    expect(files).toContain('package/bin/weft.js');
    expect(files).toContain('package/examples/demo-mesh.yaml');
    expect(files.filter((f) => f.endsWith('.ts'))).toEqual([]);
  });

  it('gives a weft on the PATH that works from any directory', async () => {
    const env = { PATH: `${join(weft, '..')}:${process.env.PATH}` };
    const version = await run('weft', ['--version'], elsewhere, env);
    expect(version.stdout.trim()).toMatch(/^weft \d+\.\d+\.\d+$/);
    const help = await run('weft', ['--help'], elsewhere, env);
    expect(help.stdout).toMatch(/^Commands:$/m);
    expect((await run('weft', ['apply', '--help'], elsewhere, env)).stdout).toMatch(
      /^Usage:\n {2}weft apply/m,
    );

    const dataDir = join(work, 'api');
    const host = await startLocalHost({ dataDir, logger: SILENT });
    try {
      const connection = ['--server', host.url, '--data', dataDir];
      const manifest = join(elsewhere, 'env.yaml');
      await writeFile(
        manifest,
        'apiVersion: weft.dev/v1\nkind: Environment\nmetadata: {name: packed}\nspec: {provider: local, region: home}\n',
      );
      const applied = await run('weft', ['apply', '-f', 'env.yaml', ...connection], elsewhere, env);
      expect(applied.stdout).toMatch(/environment\/packed created/);
      const got = await run('weft', ['get', 'environments', ...connection], elsewhere, env);
      expect(got.stdout).toMatch(/^packed\b/m);
    } finally {
      await host.close();
    }
  });
});

describe('bin/weft.js in a checkout', () => {
  let dir: string;
  beforeAll(async () => {
    // A checkout in miniature: the real bin/weft.js, a "build" and "sources" that say which ran.
    dir = await mkdtemp(join(tmpdir(), 'weft-bin-'));
    await cp(join(ROOT, 'bin'), join(dir, 'bin'), { recursive: true });
    await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    await writeFile(join(dir, 'package.json'), '{"type": "module"}\n');
    await writeFile(join(dir, 'tsconfig.json'), '{"compilerOptions": {"module": "NodeNext"}}\n');
    await mkdir(join(dir, 'cli'));
    await writeFile(
      join(dir, 'cli', 'main.ts'),
      "export const runCli = async (): Promise<number> => { console.log('sources'); return 0; };\n",
    );
    await mkdir(join(dir, 'dist', 'cli'), { recursive: true });
    await writeFile(
      join(dir, 'dist', 'cli', 'main.js'),
      "export const runCli = async () => { console.log('build'); return 0; };\n",
    );
    await writeFile(join(dir, 'dist', '.tsbuildinfo'), '{}\n');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const which = async (env: NodeJS.ProcessEnv = {}) =>
    (await run(process.execPath, [join(dir, 'bin', 'weft.js')], dir, env)).stdout.trim();

  it('runs the build while no source is newer, the sources once one is', async () => {
    const past = new Date(Date.now() - 60_000);
    await utimes(join(dir, 'cli', 'main.ts'), past, past);
    expect(await which()).toBe('build');
    expect(await which({ WEFT_FROM_SOURCE: '1' })).toBe('sources');
    const future = new Date(Date.now() + 60_000);
    await utimes(join(dir, 'cli', 'main.ts'), future, future);
    expect(await which()).toBe('sources');
  });

  it('runs the sources when there is no build', async () => {
    await rm(join(dir, 'dist'), { recursive: true });
    expect(await which()).toBe('sources');
  });
});
