import 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Maintenance database URL; each test file creates its own database from it. */
    postgresUrl: string;
    temporalAddress: string;
    workflowBundlePath: string;
  }
}
