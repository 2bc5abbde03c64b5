import { MemoryJoinTokenStore } from '../../../../shared/identity/attestation/join-token-store.js';
import { describeJoinTokenStoreContract } from '../../../contract/join-token-store.js';

describeJoinTokenStoreContract('MemoryJoinTokenStore', async () => new MemoryJoinTokenStore());
