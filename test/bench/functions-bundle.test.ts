import { readFile, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { functionBuildOptions } from '../../bench/functions.js';
import { runProcess } from '../support/run-process.js';
import { tempDir } from '../support/temp-dir.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * A size budget, not a timing: the deployed api bundle (SDK inside) was
 * 1,156 KiB when measured; importing zod as `{ z }` instead of `* as z`
 * alone adds 350 KiB, and this fails then.
 */
const API_BUNDLE_BUDGET_BYTES = 1_300_000;

describe('the api function bundled with WEFT_BUNDLING', () => {
  it('builds as deployed (the AWS SDK inside) within its size budget', async () => {
    const dir = await tempDir('weft-functions-bundle-');
    const outfile = join(dir, 'api', 'index.mjs');
    const result = await build(functionBuildOptions('functions/aws/api-handler.ts', 'bundled-sdk', outfile));
    expect(result.errors).toEqual([]);
    expect((await stat(outfile)).size).toBeLessThan(API_BUNDLE_BUDGET_BYTES);
    expect(await readFile(outfile, 'utf8')).not.toMatch(/from\s*"@aws-sdk\//);
  }, 60_000);

  it('builds, and imports in a fresh node with the SDK from node_modules, exporting its handler', async () => {
    const dir = await tempDir('weft-functions-bundle-');
    // Outside the repo, `@aws-sdk/*` resolves through this link as it would from the Lambda runtime.
    await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    const outfile = join(dir, 'api', 'index.mjs');
    const result = await build(functionBuildOptions('functions/aws/api-handler.ts', 'runtime-sdk', outfile));
    expect(result.errors).toEqual([]);

    // The handler is not called: composition waits for the first invocation.
    const child = await runProcess(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        'const m = await import(process.argv[1]); console.log(typeof m.handler);',
        outfile,
      ],
      {
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
        timeoutMs: 30_000,
      },
    );
    expect(child.stderr).toBe('');
    expect(child.code).toBe(0);
    expect(child.stdout.trim()).toBe('function');
  }, 60_000);
});
