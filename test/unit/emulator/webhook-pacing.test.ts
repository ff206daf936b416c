import { afterEach, describe, expect, it, vi } from 'vitest';
import { TimerRegistry } from '../../../emulator/common/timers.js';
import { signWebhook, WebhookDispatcher } from '../../../emulator/common/webhooks.js';

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

/** A dispatcher whose deliveries go to a recording `fetch`, each answered 200. */
function dispatcherWithRecorder(maxPerSecond: number | undefined) {
  const sent: { at: number; headers: Record<string, string>; body: string }[] = [];
  vi.stubGlobal(
    'fetch',
    async (_url: string, init: { headers: Record<string, string>; body: string }) => {
      sent.push({ at: Date.now(), headers: init.headers, body: init.body });
      return new Response(null, { status: 200 });
    },
  );
  const dispatcher = new WebhookDispatcher<'event'>(new TimerRegistry(), {
    headerPrefix: 'webhook',
    userAgent: 'test',
  });
  dispatcher.maxPerSecond = maxPerSecond;
  dispatcher.addEndpoint({ url: 'http://receiver.invalid/hook', secret: 'whsec_c2VjcmV0' });
  return { dispatcher, sent };
}

describe('webhook deliveries', () => {
  it('start at most maxPerSecond a second, in the order of the events', async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const { dispatcher, sent } = dispatcherWithRecorder(2);
    for (let index = 0; index < 5; index += 1) dispatcher.send('event', () => `{"n":${index}}`);
    await vi.advanceTimersByTimeAsync(0);
    expect(sent.map((delivery) => delivery.body)).toEqual(['{"n":0}']);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(sent.map((delivery) => [delivery.at - 1_000_000, delivery.body])).toEqual([
      [0, '{"n":0}'],
      [500, '{"n":1}'],
      [1000, '{"n":2}'],
      [1500, '{"n":3}'],
      [2000, '{"n":4}'],
    ]);
  });

  it('start at once without a cap, signed with the Standard Webhooks headers', async () => {
    vi.useFakeTimers({ now: 2_000_000 });
    const { dispatcher, sent } = dispatcherWithRecorder(undefined);
    for (let index = 0; index < 3; index += 1) dispatcher.send('event', () => `{"n":${index}}`);
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toHaveLength(3);
    const [first] = sent;
    const id = first?.headers['webhook-id'] ?? '';
    expect(first?.headers['webhook-timestamp']).toBe('2000');
    expect(first?.headers['webhook-signature']).toBe(
      signWebhook('whsec_c2VjcmV0', id, 2000, '{"n":0}'),
    );
  });
});
