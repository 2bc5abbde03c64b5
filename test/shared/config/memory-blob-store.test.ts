import { MemoryBlobStore } from '../../../shared/config/memory-blob-store.js';
import { describeBlobStoreContract } from '../../contract/blob-store.js';

describeBlobStoreContract('MemoryBlobStore', async () => ({
  blobs: new MemoryBlobStore(),
  close: async () => {},
}));
