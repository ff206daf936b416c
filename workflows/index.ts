export { DailyReconciliationWorkflow } from './daily-reconciliation.js';
export { progressQuery } from './definitions.js';
export { EraseUsersWorkflow } from './erase-users.js';
export { SyncUsersWorkflow } from './sync-users.js';
