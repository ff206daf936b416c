import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withAdvisoryLock } from '../../db/advisory-lock.js';
import { createTestDatabase, type TestDatabase, waitFor } from '../support/stack.js';

/**
 * A batch waiting for another to read the unread range (under an advisory lock) stays heard
 * from: the wait calls its callback on a timer until the lock is its own, then never again.
 */

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await db?.drop();
});

describe('waiting for an advisory lock', () => {
  it('calls onWait while another holds the lock, and not once it holds it', async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let holding = false;
    const first = withAdvisoryLock(db.sql, 'lock-wait-test', async () => {
      holding = true;
      await held;
    });
    await waitFor(() => holding);

    let waits = 0;
    const order: string[] = [];
    const second = withAdvisoryLock(
      db.sql,
      'lock-wait-test',
      async () => {
        order.push('work');
      },
      {
        onWait: () => {
          waits += 1;
          order.push('wait');
        },
        everyMs: 20,
      },
    );
    await waitFor(() => waits >= 2);
    release();
    await first;
    await second;
    expect(order.at(-1)).toBe('work');
    expect(order.filter((step) => step === 'work')).toHaveLength(1);
  });
});
