import { describe, expect, it } from 'vitest';
import { CliUsageError, readLoopsCliOptions } from '../../../emulator/loops/cli-options.js';

describe('Loops emulator command-line options', () => {
  it('default to port 8788 and 10 requests a second, with the demo list', () => {
    expect(readLoopsCliOptions([], {})).toEqual({
      port: 8788,
      host: '127.0.0.1',
      rateLimit: 10,
      faults: {},
    });
  });

  it('let flags win over LOOPS_EMULATOR_* variables', () => {
    expect(
      readLoopsCliOptions(
        ['--rate-limit', '5', '--list', 'News', '--list', 'Beta', '--hang-rate', '0.1'],
        {
          LOOPS_EMULATOR_PORT: '9999',
          LOOPS_EMULATOR_RATE_LIMIT: '50',
          LOOPS_EMULATOR_LIST_ID: 'news_list',
          LOOPS_EMULATOR_API_KEYS: 'a, b',
          LOOPS_EMULATOR_WEBHOOK_URL: 'http://127.0.0.1:3000/webhooks/loops',
        },
      ),
    ).toEqual({
      port: 9999,
      host: '127.0.0.1',
      rateLimit: 5,
      apiKeys: ['a', 'b'],
      mailingLists: [{ id: 'news_list', name: 'News' }, { name: 'Beta' }],
      webhook: { url: 'http://127.0.0.1:3000/webhooks/loops' },
      faults: { hangRate: 0.1 },
    });
  });

  it('refuse bad values with a usage error, and answer undefined for --help', () => {
    expect(() => readLoopsCliOptions(['--rate-limit', '0'], {})).toThrow(CliUsageError);
    expect(() => readLoopsCliOptions(['--list-id', 'a b'], {})).toThrow(CliUsageError);
    expect(() => readLoopsCliOptions(['--webhook-secret', 'whsec_AAAA'], {})).toThrow(
      CliUsageError,
    );
    expect(() => readLoopsCliOptions(['--nope'], {})).toThrow(TypeError);
    expect(readLoopsCliOptions(['--help'], {})).toBeUndefined();
  });
});
