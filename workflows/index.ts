export { progressQuery } from './definitions.js';
export { SyncUsersWorkflow } from './sync-users.js';
