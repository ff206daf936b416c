import { describe, expect, it } from 'vitest';
import { recordColumns } from '../../../db/sql.js';

interface Example {
  runId: string;
  platform: string;
  platformUnavailableSince: Date | null;
}

describe('recordColumns', () => {
  it('names each column by the camelCase key of the record it fills', () => {
    expect(recordColumns<Example>()(['run_id', 'platform', 'platform_unavailable_since'])).toBe(
      '"run_id" as "runId", "platform" as "platform", "platform_unavailable_since" as "platformUnavailableSince"',
    );
  });

  it('qualifies each column with the table alias it is given', () => {
    expect(recordColumns<Example>('e')(['run_id', 'platform', 'platform_unavailable_since'])).toBe(
      '"e"."run_id" as "runId", "e"."platform" as "platform", "e"."platform_unavailable_since" as "platformUnavailableSince"',
    );
  });

  it('does not compile with a column the record lacks or a field the list misses', () => {
    // @ts-expect-error: platform_unavailable_since is missing
    recordColumns<Example>()(['run_id', 'platform']);
    // @ts-expect-error: status is no field of Example
    recordColumns<Example>()(['run_id', 'platform', 'platform_unavailable_since', 'status']);
    // @ts-expect-error: the alias does not change which fields the list must name
    recordColumns<Example>('e')(['run_id', 'platform']);
  });
});
