export { progressQuery, SyncUsersWorkflow } from './sync-users.js';
