import {
  defineRoute as defineGenericRoute,
  type RouteDefinition as GenericRouteDefinition,
} from '../../common/routing.js';
import type { LoopsStore } from '../store/loops-store.js';
import type { LoopsWebhooks } from '../webhooks.js';

/** Behaviour switches that can change while the emulator runs. */
export interface LoopsSettings {
  /** Custom properties must be created (`POST /v1/contacts/properties`) before use. */
  requireDefinedProperties: boolean;
  /** Suppression removals allowed per quota period (Loops: a rolling 30 days). */
  suppressionRemovalQuota: number;
}

export interface LoopsContext {
  store: LoopsStore;
  webhooks: LoopsWebhooks;
  settings: LoopsSettings;
  teamName: string;
}

export type LoopsRoute = GenericRouteDefinition<LoopsContext>;

export const defineRoute = (
  method: string,
  path: string,
  handle: LoopsRoute['handle'],
  logKey?: LoopsRoute['logKey'],
): LoopsRoute => defineGenericRoute<LoopsContext>(method, path, handle, logKey);
