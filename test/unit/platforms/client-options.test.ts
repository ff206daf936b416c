import { describe, expect, it } from 'vitest';
import { exchangeContext, exchangeOptions } from '../../../activities/platforms/client-options.js';
import { createConnectionGate } from '../../../activities/platforms/request-gate.js';

const gate = createConnectionGate(1);
const signal = new AbortController().signal;
const onAnswer = () => {};
const context = { gate, signal, onAnswer };

describe('exchangeOptions', () => {
  it('passes the account gate, the activity signal and its answer hook, and the settings set', () => {
    expect(exchangeOptions({ requestTimeoutMs: 2_000, transientRetries: 0 }, context)).toEqual({
      gate,
      signal,
      onAnswer,
      requestTimeoutMs: 2_000,
      transientRetries: 0,
    });
  });

  it("leaves out settings not set, so the client's defaults apply", () => {
    expect(exchangeOptions({}, context)).toStrictEqual({ gate, signal, onAnswer });
    expect(exchangeOptions({ requestTimeoutMs: 0 }, context)).toStrictEqual({
      gate,
      signal,
      onAnswer,
    });
  });
});

describe('exchangeContext', () => {
  it("takes the client's defaults for what the options leave out", () => {
    const shared = exchangeContext({ gate, signal, onAnswer });
    expect(shared).toMatchObject({ gate, signal, timeoutMs: 15_000, retries: 4 });
    expect(
      exchangeContext({ gate, signal, onAnswer, requestTimeoutMs: 50, transientRetries: 0 }),
    ).toMatchObject({ gate, signal, timeoutMs: 50, retries: 0 });
  });
});
