import { MemoryStateStore } from '../../../shared/storage/memory-state-store.js';
import { describeStateStoreContract } from '../../contract/state-store.js';

describeStateStoreContract('MemoryStateStore', async () => ({
  store: new MemoryStateStore(),
  close: async () => {},
}));
