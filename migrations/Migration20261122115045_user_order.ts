import { Migration } from '@mikro-orm/migrations';

export class Migration20261122115045_user_order extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "user_created_ranges" ("organization_id" uuid not null, "lower_created_at" timestamptz not null, "lower_id" uuid not null, "size" int not null, "rows_before" int not null default 0, constraint "user_created_ranges_pkey" primary key ("organization_id", "lower_created_at", "lower_id"));`,
    );

    this.addSql(
      `create table "user_name_ranges" ("organization_id" uuid not null, "lower_bound" text not null, "size" int not null, "rows_before" int not null default 0, constraint "user_name_ranges_pkey" primary key ("organization_id", "lower_bound"));`,
    );

    this.addSql(
      `create table "user_order_deltas" ("id" bigserial primary key, "organization_id" uuid not null, "name_key" text not null, "created_at" timestamptz not null, "user_id" uuid not null, "delta" smallint not null);`,
    );
    this.addSql(`create index "user_order_deltas_organization_index" on "user_order_deltas" ("organization_id");`);

    this.addSql(
      `alter table "user_created_ranges" add constraint "user_created_ranges_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "user_name_ranges" add constraint "user_name_ranges_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on update cascade on delete cascade;`,
    );

    // Every insert, delete or rename of users appends one delta per row and key (never a
    // counter update, so writers never wait on each other); orm/user-order.ts reads ranges
    // plus pending deltas, and roster_compact_user_order folds and splits.
    this.addSql(`create function roster_user_order_inserted() returns trigger language plpgsql as $$
begin
  insert into user_order_deltas (organization_id, name_key, created_at, user_id, delta)
  select organization_id, lower(user_name), created_at, id, 1 from roster_new_users;
  return null;
end $$;`);
    this.addSql(`create function roster_user_order_deleted() returns trigger language plpgsql as $$
begin
  insert into user_order_deltas (organization_id, name_key, created_at, user_id, delta)
  select organization_id, lower(user_name), created_at, id, -1 from roster_old_users;
  return null;
end $$;`);
    this.addSql(`create function roster_user_order_updated() returns trigger language plpgsql as $$
begin
  insert into user_order_deltas (organization_id, name_key, created_at, user_id, delta)
  select moved.organization_id, moved.name_key, moved.created_at, moved.id, moved.delta
  from roster_old_users o join roster_new_users n on n.id = o.id
  cross join lateral (values (o.organization_id, lower(o.user_name), o.created_at, o.id, -1),
                             (n.organization_id, lower(n.user_name), n.created_at, n.id, 1))
    as moved(organization_id, name_key, created_at, id, delta)
  where lower(o.user_name) <> lower(n.user_name) or o.created_at <> n.created_at or o.organization_id <> n.organization_id;
  return null;
end $$;`);
    this.addSql(
      `create trigger users_order_inserted after insert on users referencing new table as roster_new_users for each statement execute function roster_user_order_inserted();`,
    );
    this.addSql(
      `create trigger users_order_deleted after delete on users referencing old table as roster_old_users for each statement execute function roster_user_order_deleted();`,
    );
    this.addSql(
      `create trigger users_order_updated after update on users referencing old table as roster_old_users new table as roster_new_users for each statement execute function roster_user_order_updated();`,
    );

    // Folds an organization's visible deltas into its ranges and splits every range larger
    // than 2 x target into ranges of target users. Needs one snapshot (repeatable read):
    // deltas committed after it stay for the next run, and the ranges it writes count
    // exactly the users that snapshot sees. Returns the deltas folded, or -1 when another
    // compaction of the organization is running.
    this.addSql(`create function roster_compact_user_order(org uuid, target integer) returns integer language plpgsql as $$
declare
  folded integer;
  r record;
  upper_key text;
  upper_created timestamptz;
  upper_id uuid;
begin
  if current_setting('transaction_isolation') = 'read committed' then
    raise exception 'roster_compact_user_order needs one snapshot: run it in a repeatable read transaction';
  end if;
  if target < 1 then
    raise exception 'target must be positive';
  end if;
  if not pg_try_advisory_xact_lock(hashtext('roster_compact_user_order'), hashtext(org::text)) then
    return -1;
  end if;
  if not exists (select 1 from organizations where id = org) then
    delete from user_order_deltas where organization_id = org;
    return 0;
  end if;
  insert into user_name_ranges (organization_id, lower_bound, size) values (org, '', 0) on conflict do nothing;
  insert into user_created_ranges (organization_id, lower_created_at, lower_id, size)
    values (org, '-infinity', '00000000-0000-0000-0000-000000000000', 0) on conflict do nothing;

  with gone as (
    delete from user_order_deltas where organization_id = org returning name_key, created_at, user_id, delta
  ), by_name as (
    select hit.lower_bound, sum(g.delta)::int as n
    from gone g cross join lateral (
      select lower_bound from user_name_ranges
      where organization_id = org and lower_bound <= g.name_key order by lower_bound desc limit 1) hit
    group by hit.lower_bound
  ), name_folded as (
    update user_name_ranges t set size = t.size + b.n from by_name b
    where t.organization_id = org and t.lower_bound = b.lower_bound returning 1
  ), by_created as (
    select hit.lower_created_at, hit.lower_id, sum(g.delta)::int as n
    from gone g cross join lateral (
      select lower_created_at, lower_id from user_created_ranges
      where organization_id = org and (lower_created_at, lower_id) <= (g.created_at, g.user_id)
      order by lower_created_at desc, lower_id desc limit 1) hit
    group by hit.lower_created_at, hit.lower_id
  ), created_folded as (
    update user_created_ranges t set size = t.size + b.n from by_created b
    where t.organization_id = org and t.lower_created_at = b.lower_created_at and t.lower_id = b.lower_id returning 1
  )
  select count(*) into folded from gone;

  for r in select lower_bound from user_name_ranges where organization_id = org and size > 2 * target loop
    select min(lower_bound) into upper_key from user_name_ranges where organization_id = org and lower_bound > r.lower_bound;
    delete from user_name_ranges where organization_id = org and lower_bound = r.lower_bound;
    insert into user_name_ranges (organization_id, lower_bound, size)
    with s as (
      select lower(user_name) as k, row_number() over (order by lower(user_name), id) - 1 as rn
      from users
      where organization_id = org and lower(user_name) >= r.lower_bound and (upper_key is null or lower(user_name) < upper_key)
    ), heads as (select rn / target as chunk, k from s where rn % target = 0),
    sizes as (select rn / target as chunk, count(*)::int as n from s group by 1)
    select org, case when h.chunk = 0 then r.lower_bound else h.k end, z.n from heads h join sizes z using (chunk);
  end loop;

  for r in select lower_created_at, lower_id from user_created_ranges where organization_id = org and size > 2 * target loop
    select lower_created_at, lower_id into upper_created, upper_id from user_created_ranges
    where organization_id = org and (lower_created_at, lower_id) > (r.lower_created_at, r.lower_id)
    order by lower_created_at, lower_id limit 1;
    delete from user_created_ranges where organization_id = org and lower_created_at = r.lower_created_at and lower_id = r.lower_id;
    insert into user_created_ranges (organization_id, lower_created_at, lower_id, size)
    with s as (
      select created_at, id, row_number() over (order by created_at, id) - 1 as rn
      from users
      where organization_id = org and (created_at, id) >= (r.lower_created_at, r.lower_id)
        and (upper_created is null or (created_at, id) < (upper_created, upper_id))
    ), heads as (select rn / target as chunk, created_at, id from s where rn % target = 0),
    sizes as (select rn / target as chunk, count(*)::int as n from s group by 1)
    select org, case when h.chunk = 0 then r.lower_created_at else h.created_at end,
           case when h.chunk = 0 then r.lower_id else h.id end, z.n
    from heads h join sizes z using (chunk);
  end loop;

  -- A range split into nothing (every user of it gone) leaves no first range behind.
  insert into user_name_ranges (organization_id, lower_bound, size) values (org, '', 0) on conflict do nothing;
  insert into user_created_ranges (organization_id, lower_created_at, lower_id, size)
    values (org, '-infinity', '00000000-0000-0000-0000-000000000000', 0) on conflict do nothing;

  -- Each range's position: with no deltas pending, a reader finds its range by this alone.
  update user_name_ranges t set rows_before = x.rows_before
  from (select lower_bound, (sum(size) over (order by lower_bound) - size)::int as rows_before
        from user_name_ranges where organization_id = org) x
  where t.organization_id = org and t.lower_bound = x.lower_bound and t.rows_before <> x.rows_before;
  update user_created_ranges t set rows_before = x.rows_before
  from (select lower_created_at, lower_id, (sum(size) over (order by lower_created_at, lower_id) - size)::int as rows_before
        from user_created_ranges where organization_id = org) x
  where t.organization_id = org and t.lower_created_at = x.lower_created_at and t.lower_id = x.lower_id
    and t.rows_before <> x.rows_before;
  return folded;
end $$;`);

    // Users already stored enter as deltas; the first compaction builds their ranges.
    this.addSql(`insert into user_order_deltas (organization_id, name_key, created_at, user_id, delta)
      select organization_id, lower(user_name), created_at, id, 1 from users;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop trigger if exists users_order_inserted on users;`);
    this.addSql(`drop trigger if exists users_order_deleted on users;`);
    this.addSql(`drop trigger if exists users_order_updated on users;`);
    this.addSql(
      `drop function if exists roster_user_order_inserted(), roster_user_order_deleted(), roster_user_order_updated(), roster_compact_user_order(uuid, integer);`,
    );
    this.addSql(`drop table if exists "user_created_ranges" cascade;`);

    this.addSql(`drop table if exists "user_name_ranges" cascade;`);

    this.addSql(`drop table if exists "user_order_deltas" cascade;`);
  }
}
