import type { IncomingHttpHeaders } from 'node:http';
import type { ImportJobs } from '../imports/import-jobs.js';
import { compilePathPattern, type PathPattern } from '../route-pattern.js';
import type { ContactStore } from '../store/contact-store.js';
import type { DefinitionStore } from '../store/definition-store.js';
import type { SuppressionStore } from '../store/suppression-store.js';
import type { WebhookSender } from '../webhooks.js';

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

export interface RouteRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
}

export interface RouteResponse {
  status: number;
  body: unknown;
}

export interface RouteDefinition {
  method: string;
  pattern: PathPattern;
  handle(request: RouteRequest, context: RouteContext): RouteResponse | Promise<RouteResponse>;
  /** What the request log records as the request's subject. */
  logKey?(request: RouteRequest): string | undefined;
}

export function defineRoute(
  method: string,
  path: string,
  handle: RouteDefinition['handle'],
  logKey?: RouteDefinition['logKey'],
): RouteDefinition {
  return { method, pattern: compilePathPattern(path), handle, ...(logKey ? { logKey } : {}) };
}

export const ok = (body: unknown): RouteResponse => ({ status: 200, body });
export const created = (body: unknown): RouteResponse => ({ status: 201, body });
