import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { History } from '../../client/histories.js';

export { runHistories as exportRunHistories } from '../../client/histories.js';

/** The JSON of the histories with every payload decoded, so its text can be searched. */
export function historyText(histories: History[]): string {
  const decode = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(decode);
    if (value && typeof value === 'object') {
      const entries = Object.entries(value).map(([key, inner]) => {
        if (key === 'data' && typeof inner === 'string') {
          return [key, Buffer.from(inner, 'base64').toString('utf8')];
        }
        return [key, decode(inner)];
      });
      return Object.fromEntries(entries);
    }
    return value;
  };
  return histories
    .map((history) => JSON.stringify(decode(JSON.parse(historyToJSON(history as never)))))
    .join('\n');
}
