import { describe, expect, it } from 'vitest';
import {
  PLATFORM_MESSAGE_MAX,
  redactedPlatformMessage,
} from '../../../activities/platforms/platform-messages.js';

describe('redactedPlatformMessage', () => {
  it('keeps what the platform said and replaces every email, quoted or not', () => {
    expect(
      redactedPlatformMessage(
        'The email `Ana.Lima+news@Example.co.uk` is invalid; did you mean "ana@example.com"? (<bo@x.io>)',
      ),
    ).toBe('The email `[email]` is invalid; did you mean "[email]"? (<[email]>)');
    expect(
      redactedPlatformMessage(
        'The property `plan` does not exist. Create it with POST /contact-properties first.',
      ),
    ).toBe('The property `plan` does not exist. Create it with POST /contact-properties first.');
  });

  it('collapses whitespace, cuts long messages and drops empty ones', () => {
    expect(redactedPlatformMessage('  two\n\tlines  ')).toBe('two lines');
    const long = redactedPlatformMessage(`${'word '.repeat(100)}x@y.z`);
    expect(Array.from(long ?? '')).toHaveLength(PLATFORM_MESSAGE_MAX);
    expect(long?.endsWith('…')).toBe(true);
    expect(redactedPlatformMessage('')).toBeUndefined();
    expect(redactedPlatformMessage(null)).toBeUndefined();
    expect(redactedPlatformMessage('   ')).toBeUndefined();
  });
});
