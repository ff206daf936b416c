import { call } from './api.js';

/** What the API tells the console about where it runs (no secret, no data about users). */
export interface ConsoleConfig {
  /** The Temporal Web UI, when the operator said where it is. */
  temporalUiUrl?: string;
  namespace: string;
}

let loaded: Promise<ConsoleConfig> | undefined;

export function consoleConfig(): Promise<ConsoleConfig> {
  loaded ??= call<ConsoleConfig>('GET', '/console/config.json').catch(() => {
    loaded = undefined;
    return { namespace: 'default' };
  });
  return loaded;
}

/** The run's page in the Temporal Web UI. */
export function temporalRunLink(config: ConsoleConfig, runId: string): string | undefined {
  if (!config.temporalUiUrl) return undefined;
  const base = config.temporalUiUrl.replace(/\/+$/, '');
  return `${base}/namespaces/${encodeURIComponent(config.namespace)}/workflows/${encodeURIComponent(runId)}`;
}
