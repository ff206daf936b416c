import type { Sql } from './sql.js';
import { recommendedIndexSql } from './users-contract.js';

/**
 * Demo users following the users contract, generated in SQL so a million rows take seconds.
 * The `demo` mix has every case a sync meets; `eligible` is all sendable users (benchmarks).
 *
 * Per 100 users of the demo mix: 55 active in the last 30 days, 20 active 1-12 months ago,
 * 10 inactive for over a year, 5 never active, 4 opted out, 2 deleted, 2 with invalid emails,
 * 2 whose email differs only in case from the email of the user 50 ids before.
 */
export type DemoMix = 'demo' | 'eligible';

export interface SeedOptions {
  count: number;
  relation?: string;
  mix?: DemoMix;
  /** First id; lets a test add users after existing ones. */
  firstId?: number;
}

const FIRST_NAMES = [
  'Ada',
  'Ben',
  'Chloé',
  'Dmitri',
  'Emma',
  'Farah',
  'Gabriel',
  'Hana',
  'Ivan',
  'Jia',
  'Kofi',
  'Lena',
  'Mateo',
  'Nora',
  'Omar',
  'Priya',
  'Quentin',
  'Rosa',
  'Sven',
  'Tomás',
  'Uma',
  'Viktor',
  'Wen',
  'Ximena',
  'Yusuf',
  'Zoë',
];
const LAST_NAMES = [
  'Andersen',
  'Bianchi',
  'Chen',
  'Dubois',
  'Eriksen',
  'Fischer',
  'García',
  'Haddad',
  'Ito',
  'Jensen',
  'Kowalski',
  'López',
  'Müller',
  'Novak',
  'Okafor',
  'Petrov',
  'Quinn',
  'Rossi',
  'Santos',
  'Tanaka',
  'Umar',
  'Varga',
  'Weber',
  'Xu',
  'Yilmaz',
  'Zhang',
];

const ACCENTED = 'éáíóúöüëçñ';
const PLAIN = 'eaiououeen';

/** Creates the relation (if missing) and its recommended index. */
export async function createUsersTable(sql: Sql, relation = 'users'): Promise<void> {
  const table = sql(relation);
  await sql`
    create table if not exists ${table} (
      id bigint primary key,
      email text,
      first_name text,
      last_name text,
      full_name text,
      created_at timestamptz not null default now(),
      last_active_at timestamptz,
      marketing_opt_out boolean not null default false,
      deleted_at timestamptz
    )`;
  const indexName = `${relation.split('.').at(-1)}_eligible_by_activity`;
  await sql.unsafe(recommendedIndexSql(relation, indexName));
}

export async function seedDemoUsers(sql: Sql, options: SeedOptions): Promise<void> {
  const relation = options.relation ?? 'users';
  const firstId = options.firstId ?? 1;
  const lastId = firstId + options.count - 1;
  const demo = (options.mix ?? 'demo') === 'demo';
  await createUsersTable(sql, relation);
  // email_of(x) is built from x's names, so a duplicate can reproduce another user's email.
  await sql`
    with generated as (
      select g as id, g % 100 as kind, names.first_name, names.last_name,
        lower(translate(names.first_name || '.' || names.last_name, ${ACCENTED}, ${PLAIN}))
          || '.' || g || '@example.com' as own_email,
        lower(translate(twin.first_name || '.' || twin.last_name, ${ACCENTED}, ${PLAIN}))
          || '.' || (g - 50) || '@example.com' as twin_email
      from generate_series(${firstId}::bigint, ${lastId}::bigint) as g
      cross join lateral (select
        (${FIRST_NAMES}::text[])[1 + (g * 7) % ${FIRST_NAMES.length}] as first_name,
        (${LAST_NAMES}::text[])[1 + (g * 13) % ${LAST_NAMES.length}] as last_name) as names
      cross join lateral (select
        (${FIRST_NAMES}::text[])[1 + ((g - 50) * 7) % ${FIRST_NAMES.length}] as first_name,
        (${LAST_NAMES}::text[])[1 + ((g - 50) * 13) % ${LAST_NAMES.length}] as last_name) as twin
    )
    insert into ${sql(relation)}
      (id, email, first_name, last_name, full_name, created_at, last_active_at, marketing_opt_out, deleted_at)
    select id,
      case
        when not ${demo} then own_email
        when kind = 96 then 'not-an-email-' || id
        when kind = 97 then 'user' || id || '@'
        when kind in (98, 99) and id - 50 >= ${firstId} then initcap(split_part(twin_email, '@', 1))
          || '@' || upper(split_part(twin_email, '@', 2))
        else own_email
      end,
      first_name, last_name, first_name || ' ' || last_name,
      now() - make_interval(days => 400 + (id % 900)::int),
      case
        when not ${demo} or kind < 55 or kind >= 90
          then now() - make_interval(days => (id % 30)::int, hours => (id % 24)::int)
        when kind < 75 then now() - make_interval(days => 31 + (id % 330)::int)
        when kind < 85 then now() - make_interval(days => 366 + (id % 700)::int)
        else null
      end,
      ${demo} and kind between 90 and 93,
      case when ${demo} and kind in (94, 95) then now() - make_interval(days => (id % 60)::int) end
    from generated
    on conflict (id) do nothing`;
  await sql`analyze ${sql(relation)}`;
}
