/**
 * `weft agent` on the command line: its help, usage errors (exit 2), a
 * first start with no identity and no join token, which must fail at once
 * (exit 1) saying how to get a token, and a first start whose control plane
 * is down: the admin port says why it is not ready, and SIGTERM still ends
 * it cleanly (exit 0).
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { runWeft, WEFT_BIN } from '../../cli/weft-process.js';
import { tempDir } from '../../support/temp-dir.js';
import { freePort } from './support/agent-process.js';

const BASE = ['agent', '--environment', 'aws', '--name', 'edge-1', '--control-plane', 'http://127.0.0.1:9'];

describe.concurrent('weft agent on the command line', () => {
  it('shows its flags and the join-token env in --help, and is listed by weft help', async () => {
    const [help, main] = await Promise.all([runWeft(['agent', '--help']), runWeft(['help'])]);
    expect(help.code).toBe(0);
    for (const flag of [
      '--environment',
      '--name',
      '--control-plane',
      '--join-token',
      '--data',
      '--admin-address',
      '--poll-interval',
    ])
      expect(help.stdout).toContain(flag);
    expect(help.stdout).toContain('WEFT_JOIN_TOKEN');
    expect(main.stdout).toMatch(/^ {2}agent /m);
  });

  it.each([
    [['agent', '--name', 'edge-1', '--control-plane', 'http://x'], /needs --environment/],
    [[...BASE, '--poll-interval', 'soon'], /--poll-interval must be a duration/],
    [[...BASE, '--poll-interval', '30d'], /--poll-interval must be a duration from 100ms to 1h/],
    [[...BASE, '--poll-interval', '0s'], /--poll-interval must be a duration from 100ms to 1h/],
    [
      ['agent', '--environment', 'AWS', '--name', 'edge-1', '--control-plane', 'http://x'],
      /environment must be a DNS-1123 label/,
    ],
    [[...BASE, '--admin-address', 'localhost'], /admin address must be host:port/],
  ])('refuses %j with exit 2', async (args, message) => {
    const { code, stderr } = await runWeft(args);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).toContain('weft agent --help');
  });

  it('fails at once with no identity and no join token, and says how to get one', async () => {
    const dir = await tempDir('weft-agent-cli-');
    const { code, stderr, stdout } = await runWeft([
      ...BASE,
      '--data',
      dir,
      '--admin-address',
      '127.0.0.1:0',
    ]);
    expect(code).toBe(1);
    expect(stderr).toMatch(
      /no identity in .* and no join token; a new join token is needed: weft token create --spiffe-id/,
    );
    expect(stdout).not.toContain('"msg":"ready"');
  });

  it('while it cannot attest yet: alive, not ready (saying why), and SIGTERM ends it with exit 0', async ({
    expect,
  }) => {
    const port = await freePort();
    const dir = await tempDir('weft-agent-cli-');
    const child = spawn(
      process.execPath,
      [WEFT_BIN, ...BASE, '--data', dir, '--admin-address', `127.0.0.1:${port}`],
      {
        env: { ...process.env, WEFT_JOIN_TOKEN: 'never-sent-anywhere-reachable' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d));
    child.stderr.on('data', (d: Buffer) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      const admin = `http://127.0.0.1:${port}`;
      await expect
        .poll(
          () =>
            fetch(`${admin}/healthz`).then(
              (r) => r.status,
              () => 0,
            ),
          { timeout: 15_000 },
        )
        .toBe(200);
      const ready = await fetch(`${admin}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { reasons: string[] }).reasons).toContain('no identity yet: attesting');
      await expect.poll(() => output, { timeout: 10_000 }).toContain('cannot attest yet; retrying');
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(output).not.toContain('never-sent-anywhere-reachable');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
