/**
 * Where the CLI looks for the server and the token, in process.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { CommandContext } from '../../cli/command.js';
import { resolveConnection } from '../../cli/connection.js';
import { UsageError } from '../../cli/errors.js';
import { tempDir } from '../support/temp-dir.js';

let cwd: string;

const context = (env: Record<string, string> = {}): CommandContext => ({
  env,
  cwd,
  stdin: process.stdin,
  out: () => {},
  err: () => {},
});

beforeAll(async () => {
  cwd = await tempDir('weft-cli-conn-');
  await writeFile(join(cwd, 'admin-token'), 'from-file\n', { mode: 0o600 });
});

describe('resolveConnection', () => {
  it('defaults to the local API and the token file of the data dir', async () => {
    const c = await resolveConnection({ data: cwd }, context(), 'get');
    expect(c).toMatchObject({ server: 'http://127.0.0.1:7070', token: 'from-file', tokenSource: 'file' });
  });

  it('prefers flags, then WEFT_SERVER / WEFT_TOKEN, and treats empty values as unset', async () => {
    const env = { WEFT_SERVER: 'http://localhost:8080/', WEFT_TOKEN: 'from-env', WEFT_DATA: cwd };
    expect(await resolveConnection({}, context(env), 'get')).toMatchObject({
      server: 'http://localhost:8080',
      token: 'from-env',
      tokenSource: 'env',
    });
    expect(
      await resolveConnection({ server: 'http://127.0.0.2:1', token: 'from-flag' }, context(env), 'get'),
    ).toMatchObject({ server: 'http://127.0.0.2:1', token: 'from-flag', tokenSource: 'flag' });
    expect(await resolveConnection({}, context({ ...env, WEFT_TOKEN: '' }), 'get')).toMatchObject({
      tokenSource: 'file',
    });
  });

  it('never reads the local token file for a server on another machine', async () => {
    const c = await resolveConnection({ server: 'https://weft.example.com', data: cwd }, context(), 'get');
    expect(c).toMatchObject({ token: undefined, tokenSource: 'none' });
  });

  it('has no token when there is no token file', async () => {
    const c = await resolveConnection({ data: join(cwd, 'missing') }, context(), 'get');
    expect(c.tokenSource).toBe('none');
  });

  it('refuses a --server that is not an http(s) URL', async () => {
    await expect(resolveConnection({ server: 'localhost:7070' }, context(), 'get')).rejects.toThrow(
      UsageError,
    );
  });
});
