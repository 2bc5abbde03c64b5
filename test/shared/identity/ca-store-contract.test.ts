import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryCaStore } from '../../../shared/identity/ca-store.js';
import { FileCaStore } from '../../../shared/identity/file-ca-store.js';
import { describeCaStoreContract } from '../../contract/ca-store.js';

describeCaStoreContract('MemoryCaStore', async () => {
  const store = new MemoryCaStore();
  return { store: () => store, close: async () => {} };
});

describeCaStoreContract('FileCaStore (one instance: it serialises saves within a process only)', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'weft-ca-'));
  const store = new FileCaStore(dataDir);
  return { store: () => store, close: () => rm(dataDir, { recursive: true, force: true }) };
});
