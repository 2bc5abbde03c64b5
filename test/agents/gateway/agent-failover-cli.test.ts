/**
 * `weft agent` with several control planes on the command line: repeated
 * and comma-separated `--control-plane` (the first is home), WEFT_SERVER as
 * home when no flag is given, and usage errors (exit 2) that name the flag.
 */
import { describe, expect, it } from 'vitest';
import { runWeft } from '../../cli/weft-process.js';

const BASE = ['agent', '--environment', 'aws', '--name', 'edge-1'];

describe('weft agent --control-plane, more than once', () => {
  it('documents peers and the home probe in --help', async () => {
    const { code, stdout } = await runWeft(['agent', '--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('--home-probe-interval');
    expect(stdout).toMatch(/first is home/);
  });

  it.each([
    [[...BASE, '--control-plane', 'http://a', '--control-plane', 'ftp://b'], /--control-plane .*"ftp:\/\/b"/],
    [[...BASE, '--control-plane', 'http://a,not a url'], /--control-plane .*"not a url"/],
    [[...BASE, '--control-plane', 'http://a', '--control-plane', 'http://a/'], /http:\/\/a is given twice/],
    [[...BASE, '--control-plane', ','], /needs --control-plane/],
    [[...BASE, '--control-plane', 'http://a', '--home-probe-interval', '10ms'], /--home-probe-interval must/],
    [
      [...BASE, '--control-plane', 'http://a', '--home-probe-interval', 'often'],
      /--home-probe-interval must/,
    ],
  ])('refuses %j with exit 2', async (args, message) => {
    const { code, stderr } = await runWeft(args, { env: { WEFT_SERVER: '' } });
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stderr).toContain('weft agent --help');
  });

  it('takes WEFT_SERVER as home when no flag is given, and checks it', async () => {
    const { code, stderr } = await runWeft(BASE, { env: { WEFT_SERVER: 'file:///etc' } });
    expect(code).toBe(2);
    expect(stderr).toMatch(/--control-plane .*"file:\/\/\/etc"/);
  });
});
