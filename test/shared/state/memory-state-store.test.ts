import { MemoryStateStore } from '../../../shared/state/memory-state-store.js';
import { describeStateStoreContract } from '../../contract/state-store.js';

describeStateStoreContract('MemoryStateStore', async () => ({
  store: new MemoryStateStore(),
  close: async () => {},
}));
