import {
  defineRoute as defineGenericRoute,
  type RouteDefinition as GenericRouteDefinition,
} from '../../common/routing.js';
import type { ImportJobs } from '../imports/import-jobs.js';
import type { ContactStore } from '../store/contact-store.js';
import type { DefinitionStore } from '../store/definition-store.js';
import type { SuppressionStore } from '../store/suppression-store.js';
import type { WebhookSender } from '../webhooks.js';

export { ok, type RouteRequest, type RouteResponse } from '../../common/routing.js';

/** Behaviour switches that can change while the emulator runs. */
export interface EmulatorSettings {
  resetOmittedFieldsOnDuplicateCreate: boolean;
  requireDefinedProperties: boolean;
  importQueuedMs: number;
  importMaxBytes: number;
  /** Imports are refused with this status (an account without the beta); null: accepted. */
  importRefusal: 403 | 404 | null;
  /** Rows with these emails (lowercased) count as failed, and nothing is written for them. */
  importFailEmails: string[];
  /** Rows with these emails (lowercased) count as skipped, and nothing is written for them. */
  importSkipEmails: string[];
}

export interface RouteContext {
  store: ContactStore;
  definitions: DefinitionStore;
  imports: ImportJobs;
  settings: EmulatorSettings;
  suppressions: SuppressionStore;
  webhooks: WebhookSender;
}

export type RouteDefinition = GenericRouteDefinition<RouteContext>;

export const defineRoute = (
  method: string,
  path: string,
  handle: RouteDefinition['handle'],
  logKey?: RouteDefinition['logKey'],
): RouteDefinition => defineGenericRoute<RouteContext>(method, path, handle, logKey);

export const created = (body: unknown) => ({ status: 201, body });
