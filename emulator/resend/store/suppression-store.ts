import { randomUUID } from 'node:crypto';
import type { Micros, MicrosecondClock } from '../../common/clock.js';
import { SeqList, type Sequenced } from '../../common/seq-list.js';

export type SuppressionOrigin = 'bounce' | 'complaint' | 'manual';

export interface SuppressionRecord extends Sequenced {
  readonly id: string;
  readonly email: string;
  readonly emailKey: string;
  readonly origin: SuppressionOrigin;
  /** The email (send) that caused a bounce or complaint; null for manual entries. */
  readonly sourceId: string | null;
  readonly createdAt: Micros;
}

/** The team's suppression list: one entry per address (case-insensitive), newest first. */
export class SuppressionStore {
  readonly byId = new Map<string, SuppressionRecord>();
  readonly byEmail = new Map<string, SuppressionRecord>();
  readonly list = new SeqList<SuppressionRecord>();
  private nextSeq = 1;

  constructor(private readonly clock: MicrosecondClock) {}

  /** Adds the address; an address already on the list keeps its entry. */
  add(
    email: string,
    origin: SuppressionOrigin,
    sourceId: string | null = null,
  ): { suppression: SuppressionRecord; added: boolean } {
    const emailKey = email.toLowerCase();
    const existing = this.byEmail.get(emailKey);
    if (existing) return { suppression: existing, added: false };
    const suppression: SuppressionRecord = {
      id: randomUUID(),
      seq: this.nextSeq++,
      email,
      emailKey,
      origin,
      sourceId,
      createdAt: this.clock.nowMicros(),
    };
    this.byId.set(suppression.id, suppression);
    this.byEmail.set(emailKey, suppression);
    this.list.insert(suppression);
    return { suppression, added: true };
  }

  find(idOrEmail: string): SuppressionRecord | undefined {
    return idOrEmail.includes('@')
      ? this.byEmail.get(idOrEmail.toLowerCase())
      : this.byId.get(idOrEmail.toLowerCase());
  }

  remove(suppression: SuppressionRecord): void {
    this.byId.delete(suppression.id);
    this.byEmail.delete(suppression.emailKey);
    this.list.remove(suppression);
  }

  clear(): void {
    this.byId.clear();
    this.byEmail.clear();
    this.list.clear();
  }
}
