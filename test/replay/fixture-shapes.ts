import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultPayloadConverter } from '@temporalio/common';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import type { temporal } from '@temporalio/proto';
import type { History } from '../../client/histories.js';

/**
 * The committed run histories that the replay test runs against the current workflow code, and
 * what each shape must contain. `npm run histories:record` writes them (see record.ts next to
 * them); the replay test reads them; both check the same facts, so a fixture that no longer shows
 * what its name says is noticed on either side.
 */
export const FIXTURE_DIR = fileURLToPath(new URL('../fixtures/histories/', import.meta.url));
export const MANIFEST_FILE = 'manifest.json';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Payloads = temporal.api.common.v1.IPayloads | null | undefined;

export const SHAPES = {
  small: 'POST /sync-users over a few active users: one execution, every batch first time',
  retries:
    'POST /sync (a mapped property: contacts made one by one) while Resend answers 5xx and accept-then-fail on POST /segments and POST /contacts: prepareRun and a batch are retried',
  'continued-as-new':
    'POST /sync (a mapped property) over enough batches to continue as new at least twice',
  overlapping:
    'POST /sync with a mapped property (contacts made one by one): batches planned ahead, two in flight, continuing as new',
  cancelled: 'POST /sync (a mapped property) cancelled with DELETE while a batch is in flight',
  scheduled: 'A Temporal Schedule (sync_type new into an existing list) triggered once',
  'specific-tags': 'POST /sync with sync_type specific and two tags, unknown ids included',
  'list-busy':
    'sync_type specific with tags into a list another run is syncing into: the list_busy outcome',
  'paused-resumed':
    'POST /sync (a mapped property, slowed down) paused through the API after its first batch, then resumed: two Workflow Updates',
  mirror:
    'POST /sync with mode mirror into an existing list after some of its users became inactive: leavers found and removed',
  'guard-tripped':
    'POST /sync with mode mirror and max_removals 0 while a user left: the run fails with removal_guard_tripped',
  'dry-run':
    'POST /sync with mode mirror and dry_run into an existing list after a user left: batches plan, leavers are found, nothing is removed, the result carries the plan',
} as const;

export type Shape = keyof typeof SHAPES;

/** Shapes a-e of the replay fixtures: the test fails when one of them is missing. */
export const REQUIRED_SHAPES: readonly Shape[] = [
  'small',
  'retries',
  'continued-as-new',
  'cancelled',
  'scheduled',
  'paused-resumed',
];

export interface ManifestEntry {
  shape: Shape;
  /** The run id; histories do not carry it, and the workflow reads it. */
  workflowId: string;
  description: string;
  /** History files, one per execution, oldest first. */
  executions: string[];
  /** Events per execution, as recorded. */
  events: number[];
  /** When this shape was recorded, if not with the whole manifest. */
  recordedAt?: string;
}

export interface Manifest {
  recordedAt: string;
  recordedWith: { temporalSdk: string; batchSize: number; suggestContinueAsNewAfterEvents: number };
  shapes: ManifestEntry[];
}

export interface FixtureRun extends ManifestEntry {
  histories: History[];
}

export const historyFileName = (shape: Shape, execution: number): string =>
  `${shape}.${execution}.json`;

export async function loadManifest(dir = FIXTURE_DIR): Promise<Manifest> {
  return JSON.parse(await readFile(path.join(dir, MANIFEST_FILE), 'utf8')) as Manifest;
}

/** Every run of the manifest with its histories, parsed as the replayer needs them. */
export async function loadFixtureRuns(dir = FIXTURE_DIR): Promise<FixtureRun[]> {
  const manifest = await loadManifest(dir);
  return Promise.all(
    manifest.shapes.map(async (entry) => ({
      ...entry,
      histories: await Promise.all(
        entry.executions.map(async (file) =>
          historyFromJSON(JSON.parse(await readFile(path.join(dir, file), 'utf8'))),
        ),
      ),
    })),
  );
}

/** JSON files in the folder that the manifest does not name (they would never be replayed). */
export async function unlistedHistoryFiles(dir = FIXTURE_DIR): Promise<string[]> {
  const manifest = await loadManifest(dir);
  const listed = new Set([MANIFEST_FILE, ...manifest.shapes.flatMap((entry) => entry.executions)]);
  return (await readdir(dir)).filter((file) => file.endsWith('.json') && !listed.has(file));
}

const attributesOf = (event: HistoryEvent): string =>
  Object.keys(event).find(
    (key) => key.endsWith('EventAttributes') && event[key as keyof HistoryEvent],
  ) ?? 'unknown';

const lastEventKind = (history: History): string => {
  const last = history.events?.at(-1);
  return last ? attributesOf(last) : 'none';
};

const firstPayload = (payloads: Payloads): unknown => {
  const payload = payloads?.payloads?.[0];
  return payload ? defaultPayloadConverter.fromPayload(payload) : undefined;
};

/** Activity types whose task started again after a failed attempt. */
export function retriedActivities(histories: History[]): Set<string> {
  const retried = new Set<string>();
  for (const history of histories) {
    const typeByScheduledId = new Map<string, string>();
    for (const event of history.events ?? []) {
      const scheduled = event.activityTaskScheduledEventAttributes;
      if (scheduled) {
        typeByScheduledId.set(String(event.eventId), scheduled.activityType?.name ?? '');
      }
      const started = event.activityTaskStartedEventAttributes;
      if (started && (started.attempt ?? 1) > 1 && started.lastFailure) {
        retried.add(typeByScheduledId.get(String(started.scheduledEventId)) ?? 'unknown');
      }
    }
  }
  return retried;
}

interface RunFacts {
  executions: number;
  /** Every execution but the last ended in continue-as-new. */
  chained: boolean;
  closedAs: string;
  cancelRequested: boolean;
  request:
    | { syncType?: string; tags?: string[]; trigger?: string; mode?: string; dryRun?: boolean }
    | undefined;
  /** Types of the activities the run scheduled. */
  activities: Set<string>;
  resultStatus: string | undefined;
  /** The result carries a dry run's plan. */
  planned: boolean;
  scheduledBy: boolean;
  retried: Set<string>;
  /** Names of the Workflow Updates the run accepted, in order. */
  updates: string[];
}

/** Whether a processBatch was scheduled while another one was still pending. */
function batchesOverlapped(histories: History[]): boolean {
  return histories.some((history) => {
    const pending = new Set<string>();
    return (history.events ?? []).some((event) => {
      const id = String(event.eventId);
      if (event.activityTaskScheduledEventAttributes?.activityType?.name === 'processBatch') {
        const overlaps = pending.size > 0;
        pending.add(id);
        return overlaps;
      }
      const ended =
        event.activityTaskCompletedEventAttributes ??
        event.activityTaskFailedEventAttributes ??
        event.activityTaskTimedOutEventAttributes;
      if (ended) pending.delete(String(ended.scheduledEventId));
      return false;
    });
  });
}

export function runFacts(histories: History[]): RunFacts {
  const first = histories[0]?.events?.[0]?.workflowExecutionStartedEventAttributes;
  const last = histories.at(-1);
  const input = firstPayload(first?.input) as { request?: RunFacts['request'] } | undefined;
  const completed = last?.events?.at(-1)?.workflowExecutionCompletedEventAttributes;
  const result = firstPayload(completed?.result) as
    | { status?: string; plan?: { remove?: { count?: number } } }
    | undefined;
  return {
    executions: histories.length,
    chained: histories
      .slice(0, -1)
      .every(
        (history) => lastEventKind(history) === 'workflowExecutionContinuedAsNewEventAttributes',
      ),
    closedAs: last ? lastEventKind(last) : 'none',
    cancelRequested: (last?.events ?? []).some(
      (event) => event.workflowExecutionCancelRequestedEventAttributes,
    ),
    request: input?.request,
    activities: new Set(
      histories.flatMap((history) =>
        (history.events ?? []).flatMap((event) => {
          const name = event.activityTaskScheduledEventAttributes?.activityType?.name;
          return name ? [name] : [];
        }),
      ),
    ),
    resultStatus: result?.status,
    planned: result?.plan !== undefined,
    scheduledBy: Boolean(first?.searchAttributes?.indexedFields?.TemporalScheduledById),
    retried: retriedActivities(histories),
    updates: histories.flatMap((history) =>
      (history.events ?? []).flatMap((event) => {
        const name =
          event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name;
        return name ? [name] : [];
      }),
    ),
  };
}

const COMPLETED = 'workflowExecutionCompletedEventAttributes';

/** What is wrong with a run's histories for the shape it is filed under; empty when nothing. */
export function shapeProblems(shape: Shape, histories: History[]): string[] {
  const facts = runFacts(histories);
  const problems: string[] = [];
  const expect = (ok: boolean, problem: string) => {
    if (!ok) problems.push(problem);
  };
  expect(facts.executions > 0, 'has no history');
  expect(facts.chained, 'an execution other than the last did not continue as new');
  switch (shape) {
    case 'small':
      expect(facts.executions === 1, `has ${facts.executions} executions, expected 1`);
      expect(facts.closedAs === COMPLETED, `closed as ${facts.closedAs}`);
      expect(facts.retried.size === 0, 'retried an activity');
      break;
    case 'retries':
      expect(facts.closedAs === COMPLETED, `closed as ${facts.closedAs}`);
      expect(facts.retried.has('prepareRun'), 'prepareRun was never retried');
      expect(facts.retried.has('processBatch'), 'no batch was retried');
      break;
    case 'continued-as-new':
      expect(facts.executions >= 3, `has ${facts.executions} executions, expected 3 or more`);
      expect(facts.closedAs === COMPLETED, `closed as ${facts.closedAs}`);
      break;
    case 'overlapping':
      expect(facts.executions >= 2, `has ${facts.executions} executions, expected 2 or more`);
      expect(facts.closedAs === COMPLETED, `closed as ${facts.closedAs}`);
      expect(batchesOverlapped(histories), 'no batch started before the one in front of it ended');
      break;
    case 'cancelled':
      expect(facts.cancelRequested, 'has no cancel request');
      expect(
        facts.closedAs === 'workflowExecutionCanceledEventAttributes',
        `closed as ${facts.closedAs}`,
      );
      break;
    case 'scheduled':
      expect(facts.scheduledBy, 'was not started by a schedule');
      expect(facts.request?.trigger === 'schedule', 'its request is not a scheduled one');
      expect(facts.closedAs === COMPLETED, `closed as ${facts.closedAs}`);
      break;
    case 'paused-resumed':
      expect(facts.closedAs === COMPLETED, `closed as ${facts.closedAs}`);
      expect(
        facts.updates.join(',') === 'pause,resume',
        `accepted the updates ${facts.updates.join(',') || 'none'}`,
      );
      break;
    case 'mirror':
      expect(facts.request?.mode === 'mirror', 'is not a mirror run');
      expect(facts.closedAs === COMPLETED, `closed as ${facts.closedAs}`);
      expect(facts.activities.has('planLeavers'), 'never looked for leavers');
      expect(facts.activities.has('removeLeavers'), 'removed no leavers');
      break;
    case 'guard-tripped':
      expect(facts.request?.mode === 'mirror', 'is not a mirror run');
      expect(
        facts.closedAs === 'workflowExecutionFailedEventAttributes',
        `closed as ${facts.closedAs}`,
      );
      expect(facts.activities.has('planLeavers'), 'never looked for leavers');
      expect(!facts.activities.has('removeLeavers'), 'removed leavers');
      break;
    case 'dry-run':
      expect(facts.request?.dryRun === true, 'is not a dry run');
      expect(facts.request?.mode === 'mirror', 'is not a mirror run');
      expect(facts.closedAs === COMPLETED, `closed as ${facts.closedAs}`);
      expect(facts.activities.has('planLeavers'), 'never looked for leavers');
      expect(!facts.activities.has('removeLeavers'), 'removed leavers');
      expect(!facts.activities.has('processBulkChunk'), 'created contacts in bulk');
      expect(facts.activities.has('readPlan') && facts.planned, 'its result has no plan');
      break;
    case 'specific-tags':
    case 'list-busy':
      expect(facts.request?.syncType === 'specific', 'is not a sync_type specific run');
      expect((facts.request?.tags?.length ?? 0) > 0, 'has no tags');
      expect(facts.closedAs === COMPLETED, `closed as ${facts.closedAs}`);
      expect(
        facts.resultStatus === (shape === 'list-busy' ? 'list_busy' : 'completed'),
        `ended with status ${facts.resultStatus}`,
      );
      break;
  }
  return problems;
}
