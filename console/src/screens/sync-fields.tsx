import { Choice, TextField } from '../fields.js';
import type { SyncForm } from '../sync-form.js';

interface Props {
  form: SyncForm;
  platforms: string[];
  change: (patch: Partial<SyncForm>) => void;
}

type Section = Omit<Props, 'platforms'>;

/** The general sync's settings, each with a label and, where a choice needs it, what it means. */
export function SyncFields({ form, platforms, change }: Props) {
  return (
    <>
      <div class="field">
        <label for="sync-platform">Platform</label>
        <select
          id="sync-platform"
          value={form.platform}
          onChange={(event) => change({ platform: event.currentTarget.value })}
        >
          {platforms.map((name) => (
            <option key={name} value={name}>
              {name}
            </option>
          ))}
        </select>
      </div>
      <ListFields form={form} change={change} />
      <WhoFields form={form} change={change} />
      <ModeFields form={form} change={change} />
      <TextField
        id="sync-tags"
        label="Tags"
        value={form.tags}
        onValue={(tags) => change({ tags })}
        hint="Comma-separated. Each tag is a list of that name; every synced contact joins it too."
      />
      <PropertyFields form={form} change={change} />
    </>
  );
}

function ListFields({ form, change }: Section) {
  return (
    <fieldset>
      <legend>Into which list</legend>
      <Choice
        id="sync-target-new"
        group="sync-target"
        label="A new list"
        checked={form.target === 'new'}
        onCheck={() => change({ target: 'new' })}
      />
      <Choice
        id="sync-target-existing"
        group="sync-target"
        label="An existing list"
        checked={form.target === 'existing'}
        onCheck={() => change({ target: 'existing' })}
      />
      {form.target === 'new' ? (
        <TextField
          id="sync-list-name"
          label="New list name"
          value={form.listName}
          onValue={(listName) => change({ listName })}
          hint={`Every sync with a name creates a new list; leave it empty for "Audience" and today's date.`}
        />
      ) : (
        <TextField
          id="sync-list-id"
          label="List id"
          value={form.listId}
          onValue={(listId) => change({ listId })}
        />
      )}
    </fieldset>
  );
}

function WhoFields({ form, change }: Section) {
  return (
    <fieldset>
      <legend>Who</legend>
      <div class="field">
        <label for="sync-type">Sync type</label>
        <select
          id="sync-type"
          value={form.syncType}
          onChange={(event) =>
            change({ syncType: event.currentTarget.value as SyncForm['syncType'] })
          }
        >
          <option value="all">All users who can be emailed</option>
          <option value="new">Only users new to this list</option>
          <option value="specific">Only the user ids I paste</option>
        </select>
      </div>
      {form.syncType === 'specific' ? (
        <TextField
          id="sync-user-ids"
          label="User ids"
          rows={4}
          value={form.userIds}
          onValue={(userIds) => change({ userIds })}
          hint="Paste ids separated by commas, spaces or new lines (at most 10,000)."
        />
      ) : null}
      <Choice
        id="sync-filter-active"
        label="Only users active recently"
        checked={form.filterActive}
        onCheck={(filterActive) => change({ filterActive })}
      />
      {form.filterActive ? (
        <TextField
          id="sync-active-days"
          label="Active within the last (days)"
          inputMode="numeric"
          value={form.activeDays}
          onValue={(activeDays) => change({ activeDays })}
        />
      ) : null}
    </fieldset>
  );
}

function ModeFields({ form, change }: Section) {
  return (
    <fieldset>
      <legend>Mode</legend>
      <Choice
        id="sync-mode-add"
        group="sync-mode"
        label="Add"
        checked={form.mode === 'add'}
        onCheck={() => change({ mode: 'add' })}
        hint="Only puts users into the list; nobody is taken out."
      />
      <Choice
        id="sync-mode-mirror"
        group="sync-mode"
        label="Mirror"
        checked={form.mode === 'mirror'}
        onCheck={() => change({ mode: 'mirror', syncType: 'all' })}
        hint={
          'Keeps the list equal to these users: contacts this service added whose user left ' +
          '(inactive, deleted, opted out) are taken out of the list. Contacts others put in the ' +
          'list are never touched. Needs the sync type "All users who can be emailed".'
        }
      />
      {form.mode === 'mirror' ? (
        <TextField
          id="sync-max-removals"
          label="Removal guard: most contacts to remove"
          value={form.maxRemovals}
          onValue={(maxRemovals) => change({ maxRemovals })}
          hint={
            'A number, or a share like 20% of the members this service tracked in the list before ' +
            'the run. A run that would remove more removes nobody and fails, so a broken or ' +
            'emptied users table cannot empty the list. Try a dry run first.'
          }
        />
      ) : null}
    </fieldset>
  );
}

function PropertyFields({ form, change }: Section) {
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
          <TextField
            id={`property-key-${index}`}
            label="Property key"
            value={row.key}
            onValue={(key) => update(index, { key })}
          />
          <TextField
            id={`property-column-${index}`}
            label="Column"
            value={row.column}
            onValue={(column) => update(index, { column })}
          />
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
