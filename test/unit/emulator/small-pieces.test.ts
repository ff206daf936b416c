import { describe, expect, it } from 'vitest';
import { MicrosecondClock } from '../../../emulator/common/clock.js';
import { isValidEmail } from '../../../emulator/common/email.js';
import { mulberry32, seededStream } from '../../../emulator/common/random.js';
import { compilePathPattern, splitPath } from '../../../emulator/common/route-pattern.js';
import { CliUsageError, readCliOptions } from '../../../emulator/resend/cli-options.js';
import { formatPostgresTimestamp, parseTimestamp } from '../../../emulator/resend/clock.js';

describe('timestamps', () => {
  it('formats microseconds the way Postgres prints timestamptz in UTC, trailing zeros trimmed', () => {
    expect(formatPostgresTimestamp(1_764_535_199_540_771)).toBe('2025-11-30 20:39:59.540771+00');
    expect(formatPostgresTimestamp(1_764_535_199_500_000)).toBe('2025-11-30 20:39:59.5+00');
    expect(formatPostgresTimestamp(1_764_535_199_000_000)).toBe('2025-11-30 20:39:59+00');
    expect(formatPostgresTimestamp(1_764_535_199_000_010)).toBe('2025-11-30 20:39:59.00001+00');
  });

  it('reads the Postgres form back to the microsecond, and ISO dates too', () => {
    expect(parseTimestamp('2025-11-30 20:39:59.540771+00')).toBe(1_764_535_199_540_771);
    expect(parseTimestamp('2025-11-30 20:39:59.5+00')).toBe(1_764_535_199_500_000);
    expect(parseTimestamp('2025-11-30 20:39:59+00')).toBe(1_764_535_199_000_000);
    expect(parseTimestamp('2025-11-30T20:39:59.5Z')).toBe(1_764_535_199_500_000);
    expect(parseTimestamp('not a time')).toBeUndefined();
    expect(parseTimestamp('2025-13-45 20:39:59+00')).toBeUndefined();
  });

  it('round-trips every microsecond it formats', () => {
    for (const micros of [0, 1, 999_999, 1_764_535_199_540_771, 1_764_535_199_000_001]) {
      expect(parseTimestamp(formatPostgresTimestamp(micros))).toBe(micros);
    }
  });

  it('hands out strictly increasing times, even within one microsecond', () => {
    const clock = new MicrosecondClock();
    const times = Array.from({ length: 1_000 }, () => clock.nowMicros());
    for (let index = 1; index < times.length; index += 1) {
      expect(times[index]).toBeGreaterThan(times[index - 1] as number);
    }
  });
});

describe('seeded randomness', () => {
  it('replays exactly for a seed', () => {
    const random = mulberry32(1);
    expect([random(), random(), random()]).toEqual([
      0.6270739405881613, 0.002735721180215478, 0.5274470399599522,
    ]);
    const again = mulberry32(1);
    expect(again()).toBe(0.6270739405881613);
  });

  it('gives each named stream its own sequence from the same seed', () => {
    const latency = seededStream(1, 'latency');
    expect([latency(), latency()]).toEqual([0.22624938283115625, 0.5829404664691538]);
    const errors = seededStream(1, 'serverError');
    expect(errors()).not.toBe(0.22624938283115625);
    expect(seededStream(1, 'latency')()).toBe(0.22624938283115625);
  });

  it('stays within [0, 1)', () => {
    const random = mulberry32(123);
    for (let index = 0; index < 10_000; index += 1) {
      const value = random();
      expect(value >= 0 && value < 1).toBe(true);
    }
  });
});

describe('path patterns', () => {
  const pattern = compilePathPattern('/contacts/:contact/segments/:segmentId');

  it('matches segment by segment and decodes parameters', () => {
    expect(pattern.source).toBe('/contacts/:contact/segments/:segmentId');
    expect(pattern.match('/contacts/a%40example.com/segments/seg_1')).toEqual({
      contact: 'a@example.com',
      segmentId: 'seg_1',
    });
  });

  it('ignores empty segments, as repeated and trailing slashes make', () => {
    expect(splitPath('//contacts//x/')).toEqual(['contacts', 'x']);
    expect(pattern.match('//contacts//x/segments/y/')).toEqual({ contact: 'x', segmentId: 'y' });
  });

  it('keeps a parameter that does not decode as it came', () => {
    expect(pattern.match('/contacts/%E0%A4%A/segments/y')).toEqual({
      contact: '%E0%A4%A',
      segmentId: 'y',
    });
  });

  it('does not match other lengths or other fixed segments', () => {
    expect(pattern.match('/contacts/a/segments')).toBeUndefined();
    expect(pattern.match('/contacts/a/segments/b/c')).toBeUndefined();
    expect(pattern.match('/audiences/a/segments/b')).toBeUndefined();
  });
});

describe('emails', () => {
  it.each([
    ['a@example.com', true],
    ['first.last+tag@sub.example.org', true],
    ['xxx+!@gmail.com', false],
    ['no-at-sign', false],
    ['a@b', false],
    ['', false],
  ])('%j is valid: %s', (email, valid) => {
    expect(isValidEmail(email)).toBe(valid);
  });
});

describe('the standalone emulator command line', () => {
  it('defaults every setting', () => {
    expect(readCliOptions([], {})).toEqual({
      port: 8787,
      host: '127.0.0.1',
      rateLimit: 10,
      resetOmittedFieldsOnDuplicateCreate: true,
      faults: {},
    });
  });

  it('lets flags win over the environment', () => {
    expect(
      readCliOptions(
        [
          '--port',
          '0',
          '--rate-limit',
          '5',
          '--api-keys',
          're_a, ,re_b',
          '--keep-omitted-fields',
          '--server-error-rate',
          '0.5',
          '--faults',
          '{"latencyMs":20}',
        ],
        {
          RESEND_EMULATOR_PORT: '9000',
          RESEND_EMULATOR_SEED: '3',
          RESEND_EMULATOR_RATE_LIMIT: '9',
        },
      ),
    ).toEqual({
      port: 0,
      host: '127.0.0.1',
      rateLimit: 5,
      seed: 3,
      apiKeys: ['re_a', 're_b'],
      resetOmittedFieldsOnDuplicateCreate: false,
      faults: { latencyMs: 20, serverErrorRate: 0.5 },
    });
  });

  it('answers undefined for --help', () => {
    expect(readCliOptions(['--help'], {})).toBeUndefined();
  });

  it.each([
    [['--port', '70000']],
    [['--rate-limit', '0']],
    [['--server-error-rate', '1.5']],
    [['--server-error-status', '404']],
    [['--faults', '{not json']],
  ])('refuses %j with a usage error', (argv) => {
    expect(() => readCliOptions(argv, {})).toThrow(CliUsageError);
  });
});
