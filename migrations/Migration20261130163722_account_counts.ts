import { Migration } from '@mikro-orm/migrations';

export class Migration20261130163722_account_counts extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "user_account_counts" ("organization_id" uuid not null, "account_type" text not null, "users" int not null, constraint "user_account_counts_pkey" primary key ("organization_id", "account_type"));`,
    );

    this.addSql(
      `create table "user_account_deltas" ("id" bigserial primary key, "organization_id" uuid not null, "account_type" text not null, "delta" int not null);`,
    );
    this.addSql(`create index "user_account_deltas_organization_type_index" on "user_account_deltas" ("organization_id", "account_type");`);

    this.addSql(
      `alter table "user_account_counts" add constraint "user_account_counts_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on update cascade on delete cascade;`,
    );

    // domain/roles.ts accountTypeOf, in SQL (test/db/account-counts.test.ts holds them equal).
    this.addSql(`create function roster_account_type(system_role text) returns text language sql immutable as $$
  select case when system_role in ('Api User', 'Exchange Admin') then 'api'
              when system_role = 'Taxii User' then 'taxii'
              when system_role = 'Read Only User' then 'readOnly'
              else 'standard' end
$$;`);

    // One delta per statement, organization and account type: a create appends one row,
    // never updates a shared counter, so concurrent creates never wait on each other.
    this.addSql(`create function roster_user_accounts_inserted() returns trigger language plpgsql as $$
begin
  insert into user_account_deltas (organization_id, account_type, delta)
  select organization_id, roster_account_type(system_role), count(*) from roster_new_users group by 1, 2;
  return null;
end $$;`);
    this.addSql(`create function roster_user_accounts_deleted() returns trigger language plpgsql as $$
begin
  insert into user_account_deltas (organization_id, account_type, delta)
  select organization_id, roster_account_type(system_role), -count(*) from roster_old_users group by 1, 2;
  return null;
end $$;`);
    this.addSql(`create function roster_user_accounts_updated() returns trigger language plpgsql as $$
begin
  insert into user_account_deltas (organization_id, account_type, delta)
  select moved.organization_id, moved.account_type, sum(moved.delta)
  from roster_old_users o join roster_new_users n on n.id = o.id
  cross join lateral (values (o.organization_id, roster_account_type(o.system_role), -1),
                             (n.organization_id, roster_account_type(n.system_role), 1))
    as moved(organization_id, account_type, delta)
  where roster_account_type(o.system_role) <> roster_account_type(n.system_role) or o.organization_id <> n.organization_id
  group by 1, 2;
  return null;
end $$;`);
    this.addSql(
      `create trigger users_accounts_inserted after insert on users referencing new table as roster_new_users for each statement execute function roster_user_accounts_inserted();`,
    );
    this.addSql(
      `create trigger users_accounts_deleted after delete on users referencing old table as roster_old_users for each statement execute function roster_user_accounts_deleted();`,
    );
    this.addSql(
      `create trigger users_accounts_updated after update on users referencing old table as roster_old_users new table as roster_new_users for each statement execute function roster_user_accounts_updated();`,
    );

    // Folds an organization's deltas into its counts in one statement: a reader (counts
    // plus pending deltas, one snapshot) sees them before or after, never twice. Deltas
    // committed meanwhile stay for the next run; a concurrent run folds disjoint rows.
    this.addSql(`create function roster_compact_user_accounts(org uuid) returns integer language plpgsql as $$
declare
  folded integer;
begin
  if not exists (select 1 from organizations where id = org) then
    delete from user_account_deltas where organization_id = org;
    return 0;
  end if;
  with gone as (
    delete from user_account_deltas where organization_id = org returning account_type, delta
  ), summed as (
    select account_type, sum(delta)::int as delta, count(*)::int as n from gone group by account_type
  ), upserted as (
    insert into user_account_counts (organization_id, account_type, users)
    select org, account_type, delta from summed
    on conflict (organization_id, account_type) do update set users = user_account_counts.users + excluded.users
  )
  select coalesce(sum(n), 0)::int into folded from summed;
  return folded;
end $$;`);

    // Counts replace counting users by (organization, system role): that index goes.
    this.addSql(`drop index if exists "users_organization_system_role_index";`);

    // Users already stored enter as one delta per organization and type. Creating the
    // triggers above locked users against writes until this migration commits.
    this.addSql(`insert into user_account_deltas (organization_id, account_type, delta)
      select organization_id, roster_account_type(system_role), count(*) from users group by 1, 2;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger if exists users_accounts_inserted on users;`);
    this.addSql(`drop trigger if exists users_accounts_deleted on users;`);
    this.addSql(`drop trigger if exists users_accounts_updated on users;`);
    this.addSql(
      `drop function if exists roster_user_accounts_inserted(), roster_user_accounts_deleted(), roster_user_accounts_updated(), roster_compact_user_accounts(uuid), roster_account_type(text);`,
    );
    this.addSql(`create index "users_organization_system_role_index" on "users" ("organization_id", "system_role");`);
    this.addSql(`drop table if exists "user_account_counts" cascade;`);

    this.addSql(`drop table if exists "user_account_deltas" cascade;`);
  }
}
