/**
 * The command line's answers to wrong input, in process: every usage error
 * is one line on stderr naming the `--help` to read, with exit code 2.
 * (help.test.ts checks the same through the real executable.)
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { CommandContext } from '../../cli/command.js';
import { runCli } from '../../cli/main.js';

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const ctx: CommandContext = {
    env: {},
    cwd: process.cwd(),
    stdin: new PassThrough(),
    out: (t) => (stdout += `${t}\n`),
    err: (t) => (stderr += `${t}\n`),
  };
  const code = await runCli(args, ctx);
  return { code, stdout, stderr };
}

describe('usage errors', () => {
  it.each([
    [['frobnicate'], /unknown command "frobnicate"; see `weft --help`/],
    [['gett', 'svc'], /unknown command "gett" \(did you mean get\?\)/],
    [['--frob'], /unknown flag --frob; see `weft --help`/],
    [['--server', 'http://x'], /--server needs a command/],
    [['--token=s3cr3t'], /^error: --token needs a command, as in `weft get services --token \.\.\.`; see/],
    [['get', 'svc', '--frob'], /unknown flag --frob; see `weft get --help`/],
    [['get', 'widgets'], /unknown kind "widgets": use one of meshes, .*; see `weft get --help`/],
    [['get'], /weft get needs KIND; see `weft get --help`/],
    [['get', 'svc', '-o', 'wide'], /unknown output format "wide"/],
    [['get', 'svc', '-n', 'shop', '-A'], /-n NAMESPACE or -A, not both/],
    [['get', 'svc', 'orders', '-l', 'app=x'], /a NAME or -l SELECTOR, not both/],
    [['get', 'svc', '-n'], /flag -n, --namespace needs a value/],
    [['get', 'svc', '-n', 'Not_A_Label'], /namespace "Not_A_Label" is not a DNS-1123 label/],
    [['get', 'svc', 'a', 'b'], /unexpected argument "b"; see `weft get --help`/],
    [['delete', 'svc'], /weft delete needs KIND NAME; see `weft delete --help`/],
    [['delete', 'gizmo', 'x'], /unknown kind "gizmo"/],
    [['apply'], /weft apply needs -f FILE, DIR or - \(stdin\); see `weft apply --help`/],
    [['apply', '-f', 'x.yaml', '--dry-run=yes'], /flag --dry-run takes no value/],
    [['serve', '--port', 'http'], /--port must be a port from 0 to 65535/],
    [['serve', '--server', 'http://x'], /unknown flag --server; see `weft serve --help`/],
    [['up', '--api-port', '70000'], /--api-port must be a port/],
    [['get', 'svc', '--server', 'ftp://x'], /--server must be an http\(s\) URL/],
    [['help', 'nope'], /unknown command "nope"/],
  ])('weft %j', async (args, message) => {
    const { code, stdout, stderr } = await run(args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^error: /);
    expect(stderr).toMatch(message);
    expect(stderr).not.toContain('s3cr3t');
  });
});

describe('help', () => {
  it.each(['up', 'serve', 'apply', 'get', 'delete', 'help'])(
    '`weft help %s` is `weft %s --help`',
    async (name) => {
      const [viaHelp, viaFlag] = await Promise.all([run(['help', name]), run([name, '-h'])]);
      expect(viaHelp.code).toBe(0);
      expect(viaHelp.stdout).toBe(viaFlag.stdout);
    },
  );

  it('documents the connection flags only on commands that talk to the API', async () => {
    expect((await run(['get', '-h'])).stdout).toContain('--server URL');
    expect((await run(['serve', '-h'])).stdout).not.toContain('--server URL');
  });
});
