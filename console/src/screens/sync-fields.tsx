import type { SyncForm } from '../sync-form.js';

interface Props {
  form: SyncForm;
  platforms: string[];
  change: (patch: Partial<SyncForm>) => void;
}

type Input = { currentTarget: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement };
const text = (event: Input) => event.currentTarget.value;

/** The general sync's settings, each with a label and, where a choice needs it, what it means. */
export function SyncFields({ form, platforms, change }: Props) {
  return (
    <>
      <div class="field">
        <label for="sync-platform">Platform</label>
        <select
          id="sync-platform"
          value={form.platform}
          onChange={(event) => change({ platform: text(event) })}
        >
          {platforms.map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
      </div>
      <ListFields form={form} change={change} />
      <fieldset>
        <legend>Who</legend>
        <div class="field">
          <label for="sync-type">Sync type</label>
          <select
            id="sync-type"
            value={form.syncType}
            onChange={(event) => change({ syncType: text(event) as SyncForm['syncType'] })}
          >
            <option value="all">All users who can receive marketing email</option>
            <option value="new">Only users never synced into this list</option>
            <option value="specific">Specific users by id</option>
          </select>
        </div>
        {form.syncType === 'specific' ? (
          <div class="field">
            <label for="sync-user-ids">User ids</label>
            <textarea
              id="sync-user-ids"
              rows={4}
              value={form.userIds}
              onInput={(event) => change({ userIds: text(event) })}
              aria-describedby="sync-user-ids-hint"
            />
            <p class="hint" id="sync-user-ids-hint">
              Paste ids separated by commas, spaces or new lines (at most 10,000).
            </p>
          </div>
        ) : null}
        <div class="check">
          <input
            id="sync-filter-active"
            type="checkbox"
            checked={form.filterActive}
            onChange={(event) => change({ filterActive: event.currentTarget.checked })}
          />
          <label for="sync-filter-active">Only users active recently</label>
        </div>
        {form.filterActive ? (
          <div class="field">
            <label for="sync-active-days">Active within the last (days)</label>
            <input
              id="sync-active-days"
              inputMode="numeric"
              value={form.activeDays}
              onInput={(event) => change({ activeDays: text(event) })}
            />
          </div>
        ) : null}
      </fieldset>
      <ModeFields form={form} change={change} />
      <div class="field">
        <label for="sync-tags">Tags</label>
        <input
          id="sync-tags"
          value={form.tags}
          onInput={(event) => change({ tags: text(event) })}
          aria-describedby="sync-tags-hint"
        />
        <p class="hint" id="sync-tags-hint">
          Comma-separated. Each tag is a list of that name; every synced contact joins it too.
        </p>
      </div>
      <PropertyFields form={form} change={change} />
    </>
  );
}

function ListFields({ form, change }: Omit<Props, 'platforms'>) {
  return (
    <fieldset>
      <legend>Into which list</legend>
      <div class="check">
        <input
          id="sync-target-new"
          type="radio"
          name="sync-target"
          checked={form.target === 'new'}
          onChange={() => change({ target: 'new' })}
        />
        <label for="sync-target-new">A new list</label>
      </div>
      <div class="check">
        <input
          id="sync-target-existing"
          type="radio"
          name="sync-target"
          checked={form.target === 'existing'}
          onChange={() => change({ target: 'existing' })}
        />
        <label for="sync-target-existing">An existing list</label>
      </div>
      {form.target === 'new' ? (
        <div class="field">
          <label for="sync-list-name">New list name</label>
          <input
            id="sync-list-name"
            value={form.listName}
            onInput={(event) => change({ listName: text(event) })}
            aria-describedby="sync-list-name-hint"
          />
          <p class="hint" id="sync-list-name-hint">
            Every sync with a name creates a new list; leave it empty for "Audience" and today's
            date.
          </p>
        </div>
      ) : (
        <div class="field">
          <label for="sync-list-id">List id</label>
          <input
            id="sync-list-id"
            value={form.listId}
            onInput={(event) => change({ listId: text(event) })}
          />
        </div>
      )}
    </fieldset>
  );
}

function ModeFields({ form, change }: Omit<Props, 'platforms'>) {
  return (
    <fieldset>
      <legend>Mode</legend>
      <div class="check">
        <input
          id="sync-mode-add"
          type="radio"
          name="sync-mode"
          checked={form.mode === 'add'}
          onChange={() => change({ mode: 'add' })}
          aria-describedby="sync-mode-add-hint"
        />
        <label for="sync-mode-add">Add</label>
      </div>
      <p class="hint" id="sync-mode-add-hint">
        Only puts users into the list; nobody is taken out.
      </p>
      <div class="check">
        <input
          id="sync-mode-mirror"
          type="radio"
          name="sync-mode"
          checked={form.mode === 'mirror'}
          onChange={() => change({ mode: 'mirror', syncType: 'all' })}
          aria-describedby="sync-mode-mirror-hint"
        />
        <label for="sync-mode-mirror">Mirror</label>
      </div>
      <p class="hint" id="sync-mode-mirror-hint">
        Keeps the list equal to these users: contacts this service added whose user left (inactive,
        deleted, opted out) are taken out of the list. Contacts others put in the list are never
        touched. Needs the sync type "All users".
      </p>
      {form.mode === 'mirror' ? (
        <div class="field">
          <label for="sync-max-removals">Removal guard: most contacts to remove</label>
          <input
            id="sync-max-removals"
            value={form.maxRemovals}
            onInput={(event) => change({ maxRemovals: text(event) })}
            aria-describedby="sync-max-removals-hint"
          />
          <p class="hint" id="sync-max-removals-hint">
            A number, or a share like 20% of the members this service tracked in the list before the
            run. A run that would remove more removes nobody and fails, so a broken or emptied users
            table cannot empty the list. Try a dry run first.
          </p>
        </div>
      ) : null}
    </fieldset>
  );
}

function PropertyFields({ form, change }: Omit<Props, 'platforms'>) {
  const rows = form.properties;
  const update = (index: number, patch: Partial<SyncForm['properties'][number]>) =>
    change({ properties: rows.map((row, at) => (at === index ? { ...row, ...patch } : row)) });
  return (
    <fieldset>
      <legend>Contact properties</legend>
      <p class="hint">
        Send columns of the users table as contact properties (only columns the operator allowed).
      </p>
      {rows.map((row, index) => (
        <fieldset class="property-row" key={index}>
          <legend>Property {index + 1}</legend>
          <div class="field">
            <label for={`property-key-${index}`}>Property key</label>
            <input
              id={`property-key-${index}`}
              value={row.key}
              onInput={(event) => update(index, { key: text(event) })}
            />
          </div>
          <div class="field">
            <label for={`property-column-${index}`}>Column</label>
            <input
              id={`property-column-${index}`}
              value={row.column}
              onInput={(event) => update(index, { column: text(event) })}
            />
          </div>
          <button
            type="button"
            class="secondary"
            onClick={() => change({ properties: rows.filter((_, at) => at !== index) })}
          >
            Remove property {index + 1}
          </button>
        </fieldset>
      ))}
      <button
        type="button"
        class="secondary"
        onClick={() => change({ properties: [...rows, { key: '', column: '' }] })}
      >
        Add a property
      </button>
    </fieldset>
  );
}
