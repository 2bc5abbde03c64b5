import { MemoryBlobStore } from '../../../shared/storage/memory-blob-store.js';
import { describeBlobStoreContract } from '../../contract/blob-store.js';

describeBlobStoreContract('MemoryBlobStore', async () => ({
  blobs: new MemoryBlobStore(),
  close: async () => {},
}));
