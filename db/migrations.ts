/**
 * The service's own tables, in the `audience_sync` schema. Append new versions; never edit one
 * that has shipped. Users' personal data stays in the users relation: these tables hold user ids,
 * outcomes, platform ids and hashes of normalised emails.
 *
 * A platform's own tables are its own migrations, in its folder (the platform's declaration),
 * applied after these (db/migrate.ts). Resend's contact directory, named lists and property
 * definitions predate that and stay in versions 1, 6 and 15 here: shipped versions never change.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: Migration[] = [
  {
    version: 1,
    name: 'runs, outcomes, ledger, contact directory, rate limiter',
    sql: /* sql */ `
      -- One row per run (a Temporal workflow id). Counters are advanced once per checkpointed batch.
      create table audience_sync.runs (
        run_id text primary key,
        platform text not null,
        sync_type text not null check (sync_type in ('all', 'new', 'specific')),
        trigger text not null check (trigger in ('api', 'schedule')),
        schedule_id text,
        list_id text,
        list_name text,
        description text,
        tags text[] not null default '{}',
        filter_active boolean not null,
        active_days integer not null,
        active_since timestamptz not null,
        status text not null default 'running'
          check (status in ('running', 'completed', 'failed', 'cancelled')),
        total integer,
        processed integer not null default 0,
        added integer not null default 0,
        failed integer not null default 0,
        skipped integer not null default 0,
        cursor text,
        batches integer not null default 0,
        -- Segments that already had the audience's name before this run created its own, so an
        -- ambiguous create can find the one it made instead of making a second.
        list_create_attempt jsonb,
        error_code text,
        error_message text,
        started_at timestamptz not null default now(),
        finished_at timestamptz
      );
      -- At most one run syncs into a given list at a time.
      create unique index runs_one_running_per_list
        on audience_sync.runs (platform, list_id)
        where status = 'running' and list_id is not null;
      create index runs_started_at on audience_sync.runs (started_at desc);

      -- A repeated Idempotency-Key answers with the first call's run.
      create table audience_sync.idempotency_keys (
        key text primary key,
        request_hash text not null,
        run_id text not null,
        created_at timestamptz not null default now()
      );

      -- The user ids a 'specific' run was asked for.
      create table audience_sync.run_requested_users (
        run_id text not null references audience_sync.runs (run_id) on delete cascade,
        user_id text not null,
        primary key (run_id, user_id)
      );

      -- Checkpoints: one row per finished batch; inserting it is what advances the run's counters,
      -- so a retried batch never counts twice.
      create table audience_sync.run_batches (
        run_id text not null references audience_sync.runs (run_id) on delete cascade,
        batch_no integer not null,
        cursor_after text,
        processed integer not null,
        added integer not null,
        failed integer not null,
        skipped integer not null,
        finished_at timestamptz not null default now(),
        primary key (run_id, batch_no)
      );

      -- Every user a run looked at ends here exactly once: added, skipped or failed, with a reason.
      create table audience_sync.run_users (
        run_id text not null references audience_sync.runs (run_id) on delete cascade,
        user_id text not null,
        outcome text not null check (outcome in ('added', 'skipped', 'failed')),
        reason text,
        recorded_at timestamptz not null default now(),
        primary key (run_id, user_id)
      );
      create index run_users_failed on audience_sync.run_users (run_id, recorded_at)
        where outcome = 'failed';

      -- Which user of a run owns each (normalised, hashed) email: the first eligible one by id.
      create table audience_sync.run_emails (
        run_id text not null references audience_sync.runs (run_id) on delete cascade,
        email_hash text not null,
        user_id text not null,
        primary key (run_id, email_hash)
      );

      -- The ledger: users this service has put into a list (for sync_type 'new' and consent).
      create table audience_sync.list_members (
        platform text not null,
        list_id text not null,
        user_id text not null,
        contact_id text,
        synced_at timestamptz not null default now(),
        unsubscribed_at timestamptz,
        primary key (platform, list_id, user_id)
      );

      -- Contacts known to exist on a platform account, so existing ones join lists through the
      -- membership endpoint and are never re-created (which would reset their fields).
      create table audience_sync.contact_directory (
        account text not null,
        email_hash text not null,
        contact_id text not null,
        primary key (account, email_hash)
      );
      create table audience_sync.contact_directory_state (
        account text primary key,
        complete boolean not null default false,
        resume_after text,
        -- The newest contact seen: its creation time, and its id for "newer than" page requests.
        watermark text,
        watermark_id text,
        refreshed_at timestamptz
      );

      -- Lists found or created by name once per account (tags).
      create table audience_sync.named_lists (
        account text not null,
        name text not null,
        list_id text not null,
        primary key (account, name)
      );

      -- A rate limiter shared by every worker: the grant times of the last requests per account.
      create table audience_sync.rate_limits (
        key text primary key,
        recent timestamptz[] not null default '{}',
        blocked_until timestamptz not null default '-infinity'
      );

      -- Grants the earliest send time that keeps at most p_limit requests in any p_window, and
      -- respects a pause (429 retry-after) shared by all workers. Grants never go backwards.
      create function audience_sync.acquire_rate_slot(p_key text, p_limit integer, p_window interval)
      returns timestamptz language plpgsql as $$
      declare
        previous timestamptz[];
        paused_until timestamptz;
        granted timestamptz := clock_timestamp();
        kept integer;
      begin
        insert into audience_sync.rate_limits (key) values (p_key) on conflict do nothing;
        select recent, blocked_until into previous, paused_until
          from audience_sync.rate_limits where key = p_key for update;
        granted := greatest(granted, paused_until);
        kept := coalesce(array_length(previous, 1), 0);
        if kept >= p_limit then
          granted := greatest(granted, previous[kept - p_limit + 1] + p_window);
        end if;
        if kept >= p_limit then
          previous := previous[kept - p_limit + 2 : kept];
        end if;
        update audience_sync.rate_limits set recent = previous || granted where key = p_key;
        return granted;
      end $$;
    `,
  },
  {
    version: 2,
    name: 'one home for run state: counts in runs, list-create attempts, outage time',
    sql: /* sql */ `
      -- A run's counts live in runs (advanced once per checkpoint); the batch rows only say that
      -- a batch was checkpointed, and runs.cursor and runs.batches were never read.
      alter table audience_sync.run_batches
        drop column processed, drop column added, drop column failed, drop column skipped;

      -- Which segments had a run's audience name before the run created its own (and the one it
      -- made), kept by platforms whose list creates are not idempotent, so a retry adopts instead.
      create table audience_sync.list_creates (
        run_id text primary key,
        existing_list_ids text[] not null,
        list_id text,
        created_at timestamptz not null default now()
      );
      insert into audience_sync.list_creates (run_id, existing_list_ids, list_id)
      select run_id,
        array(select jsonb_array_elements_text(list_create_attempt -> 'existingListIds')),
        list_id
      from audience_sync.runs where list_create_attempt is not null;

      alter table audience_sync.runs
        drop column cursor, drop column batches, drop column list_create_attempt,
        -- Since when the platform has failed this run's batches with an outage (for the status).
        add column platform_unavailable_since timestamptz;
    `,
  },
  {
    version: 3,
    name: 'paused runs',
    sql: /* sql */ `
      -- Set while a run is paused. A paused run is still running: it keeps its list.
      alter table audience_sync.runs add column paused_at timestamptz;
    `,
  },
  {
    version: 4,
    name: 'platform consent, processed webhook deliveries, the opt-outs feed',
    sql: /* sql */ `
      -- What a platform says about a contact's consent: unsubscribed there, deleted there (never
      -- to be re-created), or suppressed (bounced or complained). Learned from webhooks and from
      -- the platform's own lists. account '' holds facts from a webhook about a contact no
      -- directory of the platform knew yet; they count for every account of the platform.
      create table audience_sync.platform_consent (
        platform text not null,
        account text not null,
        email_hash text not null,
        contact_id text,
        unsubscribed boolean not null default false,
        deleted_at timestamptz,
        suppressed_at timestamptz,
        updated_at timestamptz not null default now(),
        primary key (platform, account, email_hash)
      );
      create index platform_consent_contact
        on audience_sync.platform_consent (platform, contact_id) where contact_id is not null;

      -- Webhook deliveries already processed (by svix-id), so a redelivery changes nothing.
      create table audience_sync.webhook_deliveries (
        svix_id text primary key,
        received_at timestamptz not null default now()
      );
      create index webhook_deliveries_received_at on audience_sync.webhook_deliveries (received_at);

      -- The feed of GET /api/marketing/opt-outs; its cursor is seq. Writers take the feed's lock
      -- (db/consent.ts) so rows become visible in seq order and a cursor never skips one.
      create sequence audience_sync.opt_out_seq;
      create table audience_sync.opt_outs (
        seq bigint primary key default nextval('audience_sync.opt_out_seq'),
        user_id text not null,
        origin text not null check (origin in ('unsubscribed', 'deleted', 'suppressed')),
        at timestamptz not null default now()
      );
      create index opt_outs_user on audience_sync.opt_outs (user_id, origin);

      -- A platform's fact about a contact finds the users it stands for by contact id or hash.
      create index list_members_contact on audience_sync.list_members (platform, contact_id)
        where contact_id is not null;
      create index run_emails_email_hash on audience_sync.run_emails (email_hash);
    `,
  },
  {
    version: 5,
    name: 'erasures, erasure tombstones, retention indexes',
    sql: /* sql */ `
      -- One row per erasure run (a Temporal workflow id); its counts stay after its users are gone.
      create table audience_sync.erasures (
        erasure_id text primary key,
        trigger text not null check (trigger in ('api', 'reconciliation')),
        status text not null default 'running' check (status in ('running', 'completed', 'failed')),
        requested integer not null,
        erased integer not null default 0,
        contacts_deleted integer not null default 0,
        failed integer not null default 0,
        error_code text,
        error_message text,
        started_at timestamptz not null default now(),
        finished_at timestamptz
      );

      -- The users an erasure still has to erase. A user's row goes in the transaction that erases
      -- the user's data, so what remains is the erasure's checkpoint.
      create table audience_sync.erasure_users (
        erasure_id text not null references audience_sync.erasures (erasure_id) on delete cascade,
        position integer not null,
        user_id text not null,
        primary key (erasure_id, user_id)
      );
      create index erasure_users_order on audience_sync.erasure_users (erasure_id, position);

      -- What remains of an erased user: enough to keep later syncs from re-creating the contact and
      -- to tell the application (the opt-outs feed, origin 'erased', shares the feed's sequence).
      create table audience_sync.erasure_tombstones (
        seq bigint primary key default nextval('audience_sync.opt_out_seq'),
        user_id text not null,
        email_hash text,
        erased_at timestamptz not null default now(),
        unique nulls not distinct (user_id, email_hash)
      );
      create index erasure_tombstones_email on audience_sync.erasure_tombstones (email_hash)
        where email_hash is not null;

      -- Retention deletes per-user rows by age.
      create index run_users_recorded_at on audience_sync.run_users (recorded_at);
      create index idempotency_keys_created_at on audience_sync.idempotency_keys (created_at);
    `,
  },
  {
    version: 6,
    name: 'field updates, property definitions, email changes, updated count',
    sql: /* sql */ `
      -- What this service last sent to or saw of each user's contact, per platform account: a
      -- hash of each synced field's value (names, mapped properties), never the value itself, and
      -- the hash of the email the fields belong to. A user whose hashes match costs no request.
      create table audience_sync.contact_fields (
        account text not null,
        user_id text not null,
        email_hash text not null,
        fields jsonb not null default '{}',
        updated_at timestamptz not null default now(),
        primary key (account, user_id)
      );

      -- Which of a contact's fields were empty when the directory listed it, so a first meeting
      -- fills only those (null: not known).
      alter table audience_sync.contact_directory add column empty_fields text[];

      -- Property definitions known to exist on an account (created once, by whichever run first
      -- needs one).
      create table audience_sync.property_definitions (
        account text not null,
        key text not null,
        type text not null,
        -- Defined by this service: no contact had a value for it before.
        created_here boolean not null,
        created_at timestamptz not null default now(),
        primary key (account, key)
      );

      -- The email a ledger member was synced with, so an email change moves the membership.
      alter table audience_sync.list_members add column email_hash text;

      -- A run's mapped properties ({ key: column }) and its count of users whose fields it patched.
      alter table audience_sync.runs
        add column properties jsonb not null default '{}',
        add column updated integer not null default 0;
      alter table audience_sync.run_users add column updated boolean not null default false;
    `,
  },
  {
    version: 7,
    name: 'mirror mode, removal guard, dry runs; removed and unsubscribed counts',
    sql: /* sql */ `
      alter table audience_sync.runs
        add column mode text not null default 'add',
        -- A whole number or a share like '20%' of the list's tracked members.
        add column max_removals text,
        add column dry_run boolean not null default false,
        -- Contacts taken out of the list (mirror leavers) and marked unsubscribed (opt-outs).
        add column removed integer not null default 0,
        add column unsubscribed integer not null default 0;

      -- The user's contact was marked unsubscribed by this outcome (the opt-out rule).
      alter table audience_sync.run_users add column unsubscribed boolean not null default false;

      -- A dry run's class for each user it looked at: create, join, unchanged (already in the
      -- list), update. Dry runs write outcomes but never the ledger.
      alter table audience_sync.run_users add column planned text;

      -- The leavers of a mirror run: ledger members whose user left the population, found once
      -- after the population pass. Each is handled once (outcome set), so a retried batch or a
      -- resumed worker takes up only the rest.
      create table audience_sync.run_leavers (
        run_id text not null references audience_sync.runs (run_id) on delete cascade,
        user_id text not null,
        contact_id text,
        -- An opted-out user whose contact is not marked unsubscribed yet.
        unsubscribe boolean not null,
        -- removed | gone (not on the platform any more) | shared (another member holds the
        -- contact) | failed; null: still to do.
        outcome text,
        reason text,
        handled_at timestamptz,
        primary key (run_id, user_id)
      );
      create index run_leavers_pending on audience_sync.run_leavers (run_id, user_id)
        where outcome is null;
      -- Set once a run's leavers are found (with the guard's numbers), so a retry finds the same.
      create table audience_sync.run_leaver_plans (
        run_id text primary key references audience_sync.runs (run_id) on delete cascade,
        tracked integer not null,
        would_remove integer not null,
        would_unsubscribe integer not null,
        max_removals integer not null,
        planned_at timestamptz not null default now()
      );
    `,
  },
  {
    version: 8,
    name: 'preview counts kept ahead of time',
    sql: /* sql */ `
      -- One row per users relation: eligible distinct emails as of counted_at, by how many days
      -- before counted_at their latest activity is. Previews of a large relation read it instead
      -- of counting a million users; the keeper rewrites the row every PREVIEW_COUNT_REFRESH_SECONDS.
      create table audience_sync.preview_counts (
        relation text primary key,
        counted_at timestamptz not null,
        -- Eligible users read (rows, before one per email): how much an exact count would read.
        eligible_users bigint not null,
        all_emails bigint not null,
        -- Element d (1..3650): emails whose latest activity is at or after counted_at - d days.
        active_within bigint[] not null,
        -- How long the count took, for operators weighing its cost.
        duration_ms integer not null
      );
    `,
  },
  {
    version: 9,
    name: 'bulk creation: chunks of a run, contacts they created, accounts that cannot use it',
    sql: /* sql */ `
      -- One row per chunk of a run's bulk pass. The users of the chunk are kept while its import
      -- runs (user ids only), and the platform's import id is stored before it is awaited, so an
      -- attempt that died resumes waiting on that import instead of importing again.
      create table audience_sync.bulk_chunks (
        run_id text not null,
        chunk_no integer not null,
        -- The last user id the chunk read, and whether the population ended within it.
        cursor_after text,
        population_done boolean not null,
        user_ids text[] not null,
        import_id text,
        status text not null default 'prepared'
          check (status in ('prepared', 'importing', 'settled')),
        counts jsonb,
        created_at timestamptz not null default now(),
        settled_at timestamptz,
        primary key (run_id, chunk_no)
      );

      -- Users whose contact a bulk chunk created (and put into the run's lists): the batch pass
      -- records them as added without a request. Losing a row only costs the per-contact path.
      create table audience_sync.bulk_created (
        run_id text not null,
        user_id text not null,
        primary key (run_id, user_id)
      );

      -- Accounts whose platform refused bulk creation (e.g. Resend answering 403 or 404 on
      -- imports), so runs go the per-contact way without asking every time.
      create table audience_sync.bulk_unavailable (
        platform text not null,
        account text not null,
        reason text not null,
        since timestamptz not null default now(),
        primary key (platform, account)
      );

      -- How a run created contacts: 'imports', 'per_contact' (with why), for its status.
      alter table audience_sync.runs add column bulk_mode text, add column bulk_note text;
    `,
  },
  {
    version: 10,
    name: 'dry runs hold no list; tags a dry run would create',
    sql: /* sql */ `
      -- A dry run writes nothing to its list, so it does not hold it: a real run may start
      -- beside it, and several dry runs may plan for one list.
      drop index audience_sync.runs_one_running_per_list;
      create unique index runs_one_running_per_list
        on audience_sync.runs (platform, list_id)
        where status = 'running' and list_id is not null and not dry_run;
      -- The tags of a dry run that do not exist as lists yet (a real run would create them).
      alter table audience_sync.runs add column planned_new_tags text[];
    `,
  },
  {
    version: 11,
    name: 'rate slots granted in blocks',
    sql: /* sql */ `
      -- acquire_rate_slot for p_count requests at once: the same sliding log, one row lock per
      -- block. At 300 requests a second every grant took the account's row lock in turn, and the
      -- queue for it, not the platform, set the pace.
      create function audience_sync.acquire_rate_slots(p_key text, p_limit integer,
        p_window interval, p_count integer)
      returns timestamptz[] language plpgsql as $$
      declare
        previous timestamptz[];
        paused_until timestamptz;
        earliest timestamptz := clock_timestamp();
        granted timestamptz;
        grants timestamptz[] := '{}';
        kept integer;
      begin
        insert into audience_sync.rate_limits (key) values (p_key) on conflict do nothing;
        select recent, blocked_until into previous, paused_until
          from audience_sync.rate_limits where key = p_key for update;
        for i in 1 .. greatest(p_count, 1) loop
          granted := greatest(earliest, paused_until);
          kept := coalesce(array_length(previous, 1), 0);
          if kept >= p_limit then
            granted := greatest(granted, previous[kept - p_limit + 1] + p_window);
            previous := previous[kept - p_limit + 2 : kept];
          end if;
          previous := previous || granted;
          grants := grants || granted;
        end loop;
        update audience_sync.rate_limits set recent = previous where key = p_key;
        return grants;
      end $$;
    `,
  },
  {
    version: 12,
    name: 'the removal guard counts the members tracked before the run',
    sql: /* sql */ `
      -- The list's ledger members when the run began, fixed once before its first batch: the
      -- removal guard's share is of these, so the run's own adds never raise its bar. Null for
      -- runs that began before this column (the guard then counts the members at its check).
      alter table audience_sync.runs add column tracked_before integer;
    `,
  },
  {
    version: 13,
    name: 'where a ledger membership came from: made by this service, or found in the list',
    sql: /* sql */ `
      -- 'found': the contact was already in the list when this service first synced the user
      -- into it (someone else put it there), so no run ever takes it out; 'made': this service
      -- put it there. Rows recorded before this column are 'made': that is how every membership
      -- was recorded until now, and nothing kept can tell the two apart after the fact.
      alter table audience_sync.list_members add column origin text not null default 'made'
        check (origin in ('made', 'found'));
    `,
  },
  {
    version: 14,
    name: 'erasures: ids of nobody, every email sent per user',
    sql: /* sql */ `
      -- Ids an erasure was asked for that name no user: reported, nothing erased.
      alter table audience_sync.erasures add column not_found integer not null default 0;

      -- Per user, the hash of every email this service sent to a platform (a contact created or
      -- joined, one by one or by an import), noted before it is sent. No run_id: retention keeps
      -- it, so an erasure finds the contact of an email changed long ago; erasure deletes it.
      create table audience_sync.sent_email_hashes (
        user_id text not null,
        email_hash text not null,
        first_sent_at timestamptz not null default now(),
        primary key (user_id, email_hash)
      );
      insert into audience_sync.sent_email_hashes (user_id, email_hash)
      select sent.user_id, sent.email_hash from (
        select user_id, email_hash from audience_sync.run_emails
        union select user_id, email_hash from audience_sync.list_members
        where email_hash is not null
        union select user_id, email_hash from audience_sync.contact_fields
      ) as sent
      where not exists (
        select 1 from audience_sync.erasure_tombstones t where t.user_id = sent.user_id)
      on conflict do nothing;
    `,
  },
  {
    version: 15,
    name: 'indexes for work that grows with history; retention marks runs it is done with',
    sql: /* sql */ `
      -- An erasure deletes a user's rows table by table: each by index, not by a scan.
      create index run_users_user on audience_sync.run_users (user_id);
      create index run_emails_user on audience_sync.run_emails (user_id);
      create index list_members_user on audience_sync.list_members (user_id);
      create index contact_fields_user on audience_sync.contact_fields (user_id);
      create index run_requested_users_user on audience_sync.run_requested_users (user_id);
      create index run_leavers_user on audience_sync.run_leavers (user_id);
      create index bulk_created_user on audience_sync.bulk_created (user_id);
      create index bulk_chunks_user_ids on audience_sync.bulk_chunks using gin (user_ids);
      create index run_batches_cursor_after on audience_sync.run_batches (cursor_after)
        where cursor_after is not null;
      create index bulk_chunks_cursor_after on audience_sync.bulk_chunks (cursor_after)
        where cursor_after is not null;

      -- A webhook finds the accounts that know a contact by its id or by its email's hash.
      create index contact_directory_contact on audience_sync.contact_directory (contact_id);
      create index contact_directory_email on audience_sync.contact_directory (email_hash);
      -- (platform_consent is indexed by email hash below: a lift looks on every platform.)

      -- Set when retention deleted a run's per-user rows: each day visits only the runs that
      -- ended since, not every run that ever ended.
      alter table audience_sync.runs add column per_user_rows_deleted_at timestamptz;
      create index runs_retention_due on audience_sync.runs (finished_at)
        where status <> 'running' and per_user_rows_deleted_at is null;

      -- Runs that write, counted under the lock that serialises run starts.
      create index runs_running on audience_sync.runs (dry_run) where status = 'running';
    `,
  },
  {
    version: 16,
    name: "the runs list newest first, a run's users by outcome",
    sql: /* sql */ `
      -- GET /runs pages newest first by (started_at, run_id), the run id breaking ties, so a page
      -- ends on a unique key; also within one list and within one status.
      drop index audience_sync.runs_started_at;
      create index runs_newest_first on audience_sync.runs (started_at desc, run_id desc);
      create index runs_by_list on audience_sync.runs (list_id, started_at desc, run_id desc)
        where list_id is not null;
      create index runs_by_status on audience_sync.runs (status, started_at desc, run_id desc);

      -- A run's users of one outcome by user id (and their counts by reason): the rows people
      -- look for (skipped, failed, patched). Added users with nothing patched, most rows, are
      -- read through the primary key, so they do not pay for this index.
      create index run_users_by_outcome
        on audience_sync.run_users (run_id, outcome, user_id) include (reason)
        where outcome <> 'added' or updated;

      -- Runs whose per-user rows retention deleted before it marked them
      -- (per_user_rows_deleted_at): ended, with users, none left. Their users answer 410.
      update audience_sync.runs r set per_user_rows_deleted_at = coalesce(r.finished_at, now())
      where r.status <> 'running' and r.processed > 0
        and not exists (select 1 from audience_sync.run_users u where u.run_id = r.run_id);
    `,
  },
  {
    version: 17,
    name: 'console sign-outs',
    sql: /* sql */ `
      -- Console sessions signed out before they expired (a cookie is otherwise checked by its
      -- signature alone); a row goes once its session would have expired.
      create table audience_sync.console_sign_outs (
        session_id text primary key,
        expires_at timestamptz not null
      );
    `,
  },
  {
    version: 18,
    name: 'platform health: access checks, the rate limit learned, webhook deliveries',
    sql: /* sql */ `
      -- What a worker last found when it asked each platform account a question its key must be
      -- accepted for: ok, key_refused or unreachable, and the message (no personal data).
      create table audience_sync.platform_checks (
        platform text not null,
        account text not null,
        checked_at timestamptz not null,
        outcome text not null check (outcome in ('ok', 'key_refused', 'unreachable')),
        message text not null,
        primary key (platform, account)
      );

      -- The limit the platform announced in its answers, as the rate gate learned it, and the
      -- bound the worker keeps to whatever it says (RESEND_RATE_LIMIT).
      alter table audience_sync.rate_limits
        add column learned_limit integer,
        add column learned_at timestamptz,
        add column limit_bound integer;

      -- Each platform's webhook endpoint: its last accepted delivery, and the deliveries refused
      -- since (when the first was, the last, and the status it got).
      create table audience_sync.webhook_endpoints (
        platform text primary key,
        last_delivery_at timestamptz,
        failing_since timestamptz,
        last_failure_at timestamptz,
        last_failure_status integer
      );
    `,
  },
  {
    version: 19,
    name: 'consent facts in event order, lifted by the app',
    sql: /* sql */ `
      -- When the platform's unsubscribed flag last changed (the event's own time): a fact older
      -- than that arrives late and changes nothing. deleted_at and suppressed_at are event times
      -- too. lifted_at: the app's word that the person consented again (POST
      -- /api/marketing/opt-outs/:userId/lift); facts up to then no longer count.
      alter table audience_sync.platform_consent
        add column unsubscribed_at timestamptz,
        add column lifted_at timestamptz;
      update audience_sync.platform_consent set unsubscribed_at = updated_at;
      -- A lift finds a user's records by email hash, on every platform and account.
      create index platform_consent_email on audience_sync.platform_consent (email_hash);

      -- The feed says when the app lifted a user's platform records.
      alter table audience_sync.opt_outs drop constraint if exists opt_outs_origin_check;
      alter table audience_sync.opt_outs add constraint opt_outs_origin_check
        check (origin in ('unsubscribed', 'deleted', 'suppressed', 'lifted'));
    `,
  },
  {
    version: 20,
    name: 'the contact of the last sent fields',
    sql: /* sql */ `
      -- The contact the last sent fields went to, so a platform that keeps no directory of its
      -- contacts joins the one this service knew (and learns it was deleted) instead of
      -- creating it again.
      alter table audience_sync.contact_fields add column contact_id text;
    `,
  },
  {
    version: 21,
    name: "the platform's message of a refusal",
    sql: /* sql */ `
      -- What the platform said when it refused a user's contact (its words without personal data:
      -- emails are redacted before they are stored), for the run's status. The status counts a
      -- run's skipped and failed users by reason from run_users_by_outcome (version 16).
      alter table audience_sync.run_users add column platform_message text;
    `,
  },
  {
    version: 22,
    name: 'consent records and webhook deliveries keyed for every platform; registered webhook endpoints',
    sql: /* sql */ `
      -- A fact may be about one list where a list is a subscription (Loops' mailing lists: a
      -- contact can unsubscribe from one and stay in the audience); '' is the whole account, as
      -- every fact recorded before was.
      alter table audience_sync.platform_consent add column list_id text not null default '';
      alter table audience_sync.platform_consent drop constraint platform_consent_pkey;
      alter table audience_sync.platform_consent
        add primary key (platform, account, email_hash, list_id);

      -- Delivery ids are each platform's own (svix_id holds Standard Webhooks' message id,
      -- whatever the header's name): a redelivery is known by both.
      alter table audience_sync.webhook_deliveries add column platform text not null default 'resend';
      alter table audience_sync.webhook_deliveries drop constraint webhook_deliveries_pkey;
      alter table audience_sync.webhook_deliveries add primary key (platform, svix_id);
      alter table audience_sync.webhook_deliveries alter column platform drop default;

      -- Webhook endpoints registered with a platform's API: where,
      -- for which events, and the signing secret the platform gave, which the API verifies with
      -- when no secret is configured.
      create table audience_sync.webhook_registrations (
        platform text not null,
        account text not null,
        endpoint_id text not null,
        url text not null,
        events text[] not null,
        secret text not null,
        registered_at timestamptz not null default now(),
        primary key (platform, account)
      );
    `,
  },
  {
    version: 23,
    name: 'the change set of an all run, found once',
    sql: /* sql */ `
      -- An 'all' run's change set (the users it has something to do for), found in one statement
      -- when it first reads its population; its batches read it in user-id order (seq).
      create table audience_sync.run_change_sets (
        run_id text primary key references audience_sync.runs (run_id) on delete cascade,
        users integer not null,
        found_at timestamptz not null default now(),
        -- When its unchanged members were recorded: a mirror run records them before it finds
        -- its leavers, and its completion need not pass over the list again.
        unchanged_recorded_at timestamptz
      );
      create table audience_sync.run_changes (
        run_id text not null references audience_sync.runs (run_id) on delete cascade,
        seq integer not null,
        user_id text not null,
        primary key (run_id, seq)
      );
      create unique index run_changes_user on audience_sync.run_changes (run_id, user_id);
    `,
  },
  {
    version: 24,
    name: 'members known by email only: named from what the directory learned since',
    sql: /* sql */ `
      -- Members a bulk import created are known by their email until the platform's directory
      -- learns their contact; a run names them from the directory entries learned since the
      -- list's last naming (a transaction id: entries written by a transaction below it were
      -- committed before that naming read), instead of looking every one up each run.
      create table audience_sync.list_contact_naming (
        platform text not null,
        list_id text not null,
        named_through xid8 not null,
        primary key (platform, list_id)
      );
      create index list_members_unnamed on audience_sync.list_members (platform, list_id, email_hash)
        where contact_id is null;
    `,
  },
  {
    version: 25,
    name: 'unchanged members of an all run kept compactly',
    sql: /* sql */ `
      -- An 'all' run's unchanged members (present with the fields last sent, nothing to send),
      -- written by the pass that finds its change set: their ids in user-id order (as text, the
      -- order its users are listed in), about 10,000 to a chunk, instead of a row each. Each
      -- counts as added. Retention and erasure find the ids through the column's name.
      create table audience_sync.run_unchanged_members (
        run_id text not null references audience_sync.runs (run_id) on delete cascade,
        chunk integer not null,
        user_ids text[] not null,
        primary key (run_id, chunk)
      );
      -- Members of the list's ledger that were out of the population when the change set was
      -- found: with the change set's own users, where a mirror run looks for its leavers.
      create table audience_sync.run_absent_members (
        run_id text not null references audience_sync.runs (run_id) on delete cascade,
        user_id text not null,
        primary key (run_id, user_id)
      );
      -- The end of a run looks up the members holding an email a user of its batches claimed.
      -- By the email alone: led by the list's columns, the planner took it for look-ups of a
      -- member by user id as well, reading the whole list each time.
      create index list_members_email on audience_sync.list_members (email_hash);
    `,
  },
  {
    version: 26,
    name: 'fingerprints of what was last sent, kept only while the record is as it was',
    sql: /* sql */ `
      -- A 64-bit hash of the app's values (email as written, names, mapped columns, salted with
      -- the account, the property map and the rules' version) that the change set's pass found
      -- matching this record of what was sent. While the values hash the same, the next pass
      -- takes the record as matching them without hashing and comparing them again. Any other
      -- write to the row, by any path, forgets it (the trigger), so it never outlives the record
      -- it was taken against.
      alter table audience_sync.contact_fields add column fingerprint bigint;
      create function audience_sync.forget_contact_fields_fingerprint() returns trigger
        language plpgsql as $$
        begin
          new.fingerprint := null;
          return new;
        end $$;
      create trigger contact_fields_forget_fingerprint
        before update on audience_sync.contact_fields
        for each row
        when (old.fingerprint is not null and new.fingerprint is not distinct from old.fingerprint)
        execute function audience_sync.forget_contact_fields_fingerprint();
    `,
  },
];
