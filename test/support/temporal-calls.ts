import type { ConnectionOptions } from '@temporalio/client';
import { expect } from 'vitest';

type GrpcInterceptor = NonNullable<ConnectionOptions['interceptors']>[number];

/** One gRPC call a Temporal client made: its method, and how far off its deadline was. */
export interface TemporalCall {
  /** The service method, e.g. `DescribeWorkflowExecution`. */
  method: string;
  /** From the moment of the call to its deadline; undefined when it had none. */
  deadlineInMs: number | undefined;
}

/**
 * Records every call of the Temporal client whose connection has `interceptor` first in its
 * interceptors (before the SDK's retries, so a call is recorded once however often it is tried).
 * A call's deadline is the API's promise not to wait on Temporal for longer: asserting it is
 * asserting the promise, where timing the answer on a busy machine would be a guess.
 */
export function temporalCallRecorder() {
  const calls: TemporalCall[] = [];
  const interceptor: GrpcInterceptor = (options, nextCall) => {
    const deadline = options.deadline;
    const at = deadline instanceof Date ? deadline.getTime() : deadline;
    calls.push({
      method: options.method_definition.path.split('/').at(-1) ?? '',
      deadlineInMs: at === undefined || !Number.isFinite(at) ? undefined : at - Date.now(),
    });
    // Passing the call on unchanged: grpc-js takes the next call itself as the intercepted one.
    return nextCall(options) as ReturnType<GrpcInterceptor>;
  };
  return {
    interceptor,
    /** The calls recorded since the last look, and forgets them. */
    take: (): TemporalCall[] => calls.splice(0),
  };
}

export type TemporalCallRecorder = ReturnType<typeof temporalCallRecorder>;

/**
 * The calls were exactly `methods`, in order, each with a deadline at most `withinMs` after it
 * was made (the time since only shortens what is left of it).
 */
export function expectCallsWithin(calls: TemporalCall[], methods: string[], withinMs: number) {
  expect(calls.map((call) => call.method)).toEqual(methods);
  for (const call of calls) {
    expect(call.deadlineInMs, `${call.method} has a deadline`).toBeDefined();
    expect(call.deadlineInMs).toBeLessThanOrEqual(withinMs);
  }
}
