import { randomUUID } from 'node:crypto';
import type { Micros, MicrosecondClock } from '../../common/clock.js';
import { SeqList, type Sequenced } from '../../common/seq-list.js';
import type { TimerRegistry } from '../../common/timers.js';
import type { ContactInput } from '../store/records.js';
import { CsvSyntaxError, parseCsv } from './csv.js';
import { createRowReader, type ImportColumnMap, ImportLayoutError } from './row-mapping.js';

export type ImportStatus = 'queued' | 'in_progress' | 'completed' | 'failed';
export type OnConflict = 'upsert' | 'skip';
export type RowOutcome = 'created' | 'updated' | 'skipped' | 'failed';

export interface ImportCounts {
  total: number;
  created: number;
  updated: number;
  skipped: number;
  failed: number;
}

export interface ImportJob extends Sequenced {
  readonly id: string;
  status: ImportStatus;
  readonly createdAt: Micros;
  completedAt: Micros | null;
  counts: ImportCounts;
  /** Why a `failed` import failed (kept for the admin view; the API has no field for it). */
  failureReason: string | undefined;
}

export interface ImportRequest {
  csv: string;
  columnMap: ImportColumnMap | undefined;
  onConflict: OnConflict;
}

/** Applies one imported row to the contact store. */
export type RowWriter = (input: ContactInput, onConflict: OnConflict) => RowOutcome;

/** Rows written per event-loop turn, so a large import never stalls other requests. */
const ROWS_PER_TURN = 2000;

/** Contact imports: accepted at once, processed in the background, queued → in_progress → done. */
export class ImportJobs {
  readonly byId = new Map<string, ImportJob>();
  readonly jobs = new SeqList<ImportJob>();
  private nextSeq = 1;

  constructor(
    private readonly clock: MicrosecondClock,
    private readonly timers: TimerRegistry,
    private readonly queuedMs: () => number,
  ) {}

  start(request: ImportRequest, writeRow: RowWriter): ImportJob {
    const job: ImportJob = {
      id: randomUUID(),
      seq: this.nextSeq++,
      status: 'queued',
      createdAt: this.clock.nowMicros(),
      completedAt: null,
      counts: { total: 0, created: 0, updated: 0, skipped: 0, failed: 0 },
      failureReason: undefined,
    };
    this.byId.set(job.id, job);
    this.jobs.insert(job);
    this.timers.after(this.queuedMs(), () => this.run(job, request, writeRow));
    return job;
  }

  clear(): void {
    this.byId.clear();
    this.jobs.clear();
  }

  private run(job: ImportJob, request: ImportRequest, writeRow: RowWriter): void {
    job.status = 'in_progress';
    let rows: string[][];
    let readRow: ReturnType<typeof createRowReader>;
    try {
      rows = parseCsv(request.csv);
      readRow = createRowReader(rows[0] ?? [], request.columnMap);
    } catch (error) {
      if (error instanceof CsvSyntaxError || error instanceof ImportLayoutError) {
        this.finish(job, 'failed', error.message);
        return;
      }
      throw error;
    }
    job.counts.total = Math.max(0, rows.length - 1);
    let next = 1;
    const turn = () => {
      const end = Math.min(rows.length, next + ROWS_PER_TURN);
      for (; next < end; next += 1) {
        const input = readRow(rows[next] ?? []);
        if (input) job.counts[writeRow(input, request.onConflict)] += 1;
        else job.counts.failed += 1;
      }
      if (next < rows.length) this.timers.soon(turn);
      else this.finish(job, 'completed', undefined);
    };
    turn();
  }

  private finish(job: ImportJob, status: 'completed' | 'failed', reason: string | undefined): void {
    job.status = status;
    job.failureReason = reason;
    job.completedAt = this.clock.nowMicros();
  }
}
