import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileKeyRing } from '../../../shared/identity/file-key-signer.js';
import { MemoryKeyRing } from '../../../shared/identity/memory-key-ring.js';
import { KMS_MAX_MESSAGE_BYTES } from '../../../shared/identity/signer.js';
import { describeSignerContract } from '../../contract/signer.js';

describeSignerContract('FileKeyRing', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'weft-keys-'));
  return { ring: () => new FileKeyRing(dataDir), close: () => rm(dataDir, { recursive: true, force: true }) };
});

describeSignerContract('MemoryKeyRing', async () => {
  const ring = new MemoryKeyRing();
  return { ring: () => ring, close: async () => {} };
});

describeSignerContract(
  'MemoryKeyRing held to the KMS limit',
  async () => {
    const ring = new MemoryKeyRing({ maxMessageBytes: KMS_MAX_MESSAGE_BYTES });
    return { ring: () => ring, close: async () => {} };
  },
  { maxMessageBytes: KMS_MAX_MESSAGE_BYTES },
);
