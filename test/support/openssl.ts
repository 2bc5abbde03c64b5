/**
 * `openssl verify` as an independent judge of certificate chains.
 *
 * @module
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface OpensslVerifyResult {
  readonly ok: boolean;
  readonly output: string;
}

/**
 * Runs `openssl verify -CAfile root.pem -untrusted intermediate.pem leaf.pem`
 * (with `-purpose` and `-attime` when given) in `dir`.
 */
export async function opensslVerify(
  dir: string,
  pems: { root: string; intermediate: string; leaf: string },
  options: { purpose?: 'sslclient' | 'sslserver'; at?: Date } = {},
): Promise<OpensslVerifyResult> {
  const files = {
    root: join(dir, 'root.pem'),
    intermediate: join(dir, 'intermediate.pem'),
    leaf: join(dir, 'leaf.pem'),
  };
  await Promise.all([
    writeFile(files.root, pems.root),
    writeFile(files.intermediate, pems.intermediate),
    writeFile(files.leaf, pems.leaf),
  ]);
  const args = ['verify', '-CAfile', files.root, '-untrusted', files.intermediate];
  if (options.purpose) args.push('-purpose', options.purpose);
  if (options.at) args.push('-attime', String(Math.floor(options.at.getTime() / 1000)));
  args.push(files.leaf);
  try {
    const { stdout, stderr } = await run('openssl', args);
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}
