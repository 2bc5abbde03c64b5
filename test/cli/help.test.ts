/**
 * The command line without a server: help, version, usage errors (exit 2,
 * one line naming the `--help` to read) and an unreachable server (exit 1).
 */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { lines, runWeft } from './weft-process.js';

const COMMANDS = ['up', 'serve', 'apply', 'get', 'delete', 'help'];

/** A port nothing listens on: bound, then released. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe.concurrent('weft help', () => {
  it('lists every command, the kinds and the exit codes', async () => {
    const { code, stdout, stderr } = await runWeft(['--help']);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    for (const name of COMMANDS) expect(stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
    expect(stdout).toContain('services (svc)');
    expect(stdout).toContain('2 usage error');
  });

  it('prints the same overview for `weft` and `weft help`', async () => {
    const [bare, help] = await Promise.all([runWeft([]), runWeft(['help'])]);
    expect(bare.code).toBe(0);
    expect(help.code).toBe(0);
    expect(bare.stdout).toBe(help.stdout);
  });

  it.each(COMMANDS)('shows usage, flags and examples for `weft %s --help`', async (name) => {
    const { code, stdout, stderr } = await runWeft([name, '--help']);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    expect(stdout).toContain(`Usage:\n  weft ${name}`);
    expect(stdout).toContain('-h, --help');
    expect(stdout).toContain('Examples:');
  });

  it('prints the version', async () => {
    const { code, stdout } = await runWeft(['--version']);
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(/^weft \d+\.\d+\.\d+/);
  });
});

describe.concurrent('usage errors exit 2 with one line naming the help to read', () => {
  // The full matrix runs in process (usage.test.ts); these prove the process wiring.
  it.each([
    [['frobnicate'], 'error: unknown command "frobnicate"; see `weft --help`'],
    [['get', 'svc', '--frob'], 'error: unknown flag --frob; see `weft get --help`'],
    [
      ['get', 'widgets'],
      'error: unknown kind "widgets": use one of meshes, environments, gateways, services, workloads, accesspolicies, routes; see `weft get --help`',
    ],
  ])('weft %j', async (args, message) => {
    const { code, stdout, stderr } = await runWeft(args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(lines(stderr)).toEqual([message]);
  });
});

describe('an API that is not running', () => {
  it('exits 1 with one line saying how to start it', async () => {
    const server = `http://127.0.0.1:${await closedPort()}`;
    const { code, stderr } = await runWeft(['get', 'services', '--server', server]);
    expect(code).toBe(1);
    expect(lines(stderr)).toEqual([
      `error: cannot reach the weft API at ${server}: start it with \`weft serve\` (or \`npm start\`), or pass --server`,
    ]);
  });

  it('reports a file that does not exist before it needs the API', async () => {
    const { code, stderr } = await runWeft([
      'apply',
      '-f',
      'no-such-file.yaml',
      '--server',
      'http://127.0.0.1:9',
    ]);
    expect(code).toBe(2);
    expect(lines(stderr)).toEqual(['error: no-such-file.yaml does not exist']);
  });
});
