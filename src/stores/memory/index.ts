export { MemoryTokenStore } from './memory-token-store.js';
export { MemoryClientStore } from '../../client-auth/client-store.js';
