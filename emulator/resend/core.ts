import { MicrosecondClock } from '../common/clock.js';
import type { ApiDialect } from '../common/pipeline.js';
import { EmulatorRuntime } from '../common/runtime.js';
import type { KeyPolicy } from './auth.js';
import { ImportJobs } from './imports/import-jobs.js';
import type { ResolvedOptions } from './options.js';
import { resendDialect } from './pipeline.js';
import type { EmulatorSettings, RouteContext } from './routes/types.js';
import { ContactStore } from './store/contact-store.js';
import { DefinitionStore } from './store/definition-store.js';
import { SuppressionStore } from './store/suppression-store.js';
import { WebhookSender } from './webhooks.js';

/** Everything one emulator instance holds: state, limits, faults, log and pending work. */
export class EmulatorCore extends EmulatorRuntime {
  readonly clock = new MicrosecondClock();
  readonly store = new ContactStore(this.clock);
  readonly definitions = new DefinitionStore(this.clock);
  readonly suppressions = new SuppressionStore(this.clock);
  readonly webhooks = new WebhookSender(this.timers);
  readonly settings: EmulatorSettings;
  readonly imports: ImportJobs;
  readonly keyPolicy: KeyPolicy;
  readonly context: RouteContext;
  readonly dialect: ApiDialect;

  constructor(options: ResolvedOptions) {
    super(options);
    this.settings = {
      resetOmittedFieldsOnDuplicateCreate: options.resetOmittedFieldsOnDuplicateCreate,
      requireDefinedProperties: options.requireDefinedProperties,
      importQueuedMs: options.importQueuedMs,
      importMaxBytes: options.importMaxBytes,
      importRefusal: null,
      importFailEmails: [],
      importSkipEmails: [],
    };
    this.imports = new ImportJobs(this.clock, this.timers, () => this.settings.importQueuedMs);
    this.keyPolicy = {
      apiKeys: options.apiKeys ? new Set(options.apiKeys) : undefined,
      apiKeyTeams: options.apiKeyTeams,
    };
    this.context = {
      store: this.store,
      definitions: this.definitions,
      imports: this.imports,
      settings: this.settings,
      suppressions: this.suppressions,
      webhooks: this.webhooks,
    };
    this.dialect = resendDialect(this);
    for (const endpoint of options.webhooks) this.webhooks.addEndpoint(endpoint);
    if (options.webhookRetryDelaysMs)
      this.webhooks.retryDelaysMs = [...options.webhookRetryDelaysMs];
  }

  /**
   * Clears state, log, faults and pending work (webhook deliveries included); keeps the rate
   * limit, keys, switches and webhook endpoints.
   */
  reset(): void {
    this.resetRuntime();
    this.store.clear();
    this.definitions.clear();
    this.suppressions.clear();
    this.webhooks.clear();
    this.imports.clear();
  }
}
