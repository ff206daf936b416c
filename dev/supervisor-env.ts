/** Set by dev/main.ts for the stack process: it leads a process group of its own. */
export const OWN_PROCESS_GROUP = 'AUDIENCE_SYNC_DEV_OWN_PROCESS_GROUP';
/** Set by dev/main.ts: when `npm run dev` started (epoch ms), for the start-up time it reports. */
export const STARTED_AT = 'AUDIENCE_SYNC_DEV_STARTED_AT';
/**
 * Where the stack keeps its data instead of the project's `.data`. Not a setting: the tests use
 * it to run the stack beside the one you may have running.
 */
export const DATA_DIR = 'AUDIENCE_SYNC_DEV_DATA_DIR';
