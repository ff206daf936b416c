export { progressQuery } from './definitions.js';
export { EraseUsersWorkflow } from './erase-users.js';
export { SyncUsersWorkflow } from './sync-users.js';
