import type { ApiDialect } from '../common/pipeline.js';
import { EmulatorRuntime } from '../common/runtime.js';
import { loopsDialect } from './dialect.js';
import type { ResolvedLoopsOptions } from './options.js';
import type { LoopsContext, LoopsSettings } from './routes/context.js';
import { LoopsStore } from './store/loops-store.js';
import { LoopsWebhooks } from './webhooks.js';

/** Everything one Loops emulator holds: state, limits, faults, log and pending work. */
export class LoopsCore extends EmulatorRuntime {
  readonly store = new LoopsStore();
  readonly webhooks = new LoopsWebhooks(this.timers);
  readonly settings: LoopsSettings;
  readonly apiKeys: ReadonlySet<string> | undefined;
  readonly apiKeyTeams: Readonly<Record<string, string>>;
  readonly context: LoopsContext;
  readonly dialect: ApiDialect;

  constructor(options: ResolvedLoopsOptions) {
    super(options);
    this.settings = {
      requireDefinedProperties: options.requireDefinedProperties,
      suppressionRemovalQuota: options.suppressionRemovalQuota,
    };
    this.apiKeys = options.apiKeys ? new Set(options.apiKeys) : undefined;
    this.apiKeyTeams = options.apiKeyTeams;
    for (const list of options.mailingLists) {
      this.store.addList({
        ...(list.id ? { id: list.id } : {}),
        name: list.name,
        description: list.description ?? null,
        isPublic: list.isPublic ?? true,
      });
    }
    this.context = {
      store: this.store,
      webhooks: this.webhooks,
      settings: this.settings,
      teamName: options.teamName,
    };
    if (options.webhook) this.webhooks.addEndpoint(options.webhook);
    if (options.webhookRetryDelaysMs)
      this.webhooks.retryDelaysMs = [...options.webhookRetryDelaysMs];
    this.webhooks.maxPerSecond = options.webhookMaxPerSecond;
    this.dialect = loopsDialect(this);
  }

  /**
   * Clears contacts, custom properties, the removal quota, log, faults and pending work; keeps
   * the mailing lists, rate limit, keys, switches and the webhook endpoint.
   */
  reset(): void {
    this.resetRuntime();
    this.store.clear();
    this.webhooks.clear();
  }
}
