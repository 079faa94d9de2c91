export { MemoryClientStore } from '../../client-auth/client-store.js';
export { MemoryTokenStore } from './memory-token-store.js';
