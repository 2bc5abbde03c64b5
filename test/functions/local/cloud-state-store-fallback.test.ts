import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { startCloudStateStore } from '../../../functions/local/cloud-state-store.js';
import { tempDir } from '../../support/temp-dir.js';

// An install without devDependencies (`npm install -g` of the packed tarball): no azurite to resolve.
vi.mock('node:module', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:module')>();
  const createRequire = (from: string | URL) => {
    const require = actual.createRequire(from);
    const resolve = (id: string, options?: { paths?: string[] }) => {
      if (id.startsWith('azurite')) {
        throw Object.assign(new Error(`Cannot find module '${id}'`), { code: 'MODULE_NOT_FOUND' });
      }
      return require.resolve(id, options);
    };
    return Object.assign((id: string) => require(id), require, { resolve });
  };
  return { ...actual, createRequire, default: { ...actual, createRequire } };
});

describe('startCloudStateStore without azurite', () => {
  it('leaves azure on the embedded default and says so in one info line', async () => {
    const dataDir = await tempDir('weft-cloud-state-');
    const info: Record<string, unknown>[] = [];
    const logger = { info: (e: Record<string, unknown>) => info.push(e), warn() {}, error() {} };
    await expect(startCloudStateStore({ cloud: 'azure', dataDir, logger })).resolves.toBeUndefined();
    expect(info).toStrictEqual([
      {
        msg: 'state: azurite is not installed (an install without devDependencies); azure keeps its state in the embedded store',
        dir: join(dataDir, 'state'),
      },
    ]);
    expect(existsSync(join(dataDir, 'azurite'))).toBe(false);
  });
});
