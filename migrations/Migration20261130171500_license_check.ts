import { Migration } from '@mikro-orm/migrations';

export class Migration20261130171500_license_check extends Migration {
  override async up(): Promise<void> {
    // A license check far from the limit, in one round trip: takes the organization's
    // license lock shared (until the transaction ends), then reads the license and the
    // users of one account type. VOLATILE, so the read after the lock takes a fresh
    // snapshot (read committed): it sees every check that held the lock before.
    this.addSql(`create function roster_share_license(org uuid, type text) returns table (
  "standardUserLimit" int, "apiUserLimit" int, "taxiiUserLimit" int, "readOnlyUserLimit" int,
  "apiUsersAllowed" boolean, "readOnlyUsersFree" boolean, users int, sessions int)
language plpgsql volatile as $$
begin
  perform pg_advisory_xact_lock_shared(hashtext('roster_license'), hashtext(org::text));
  return query
    select o.standard_user_limit, o.api_user_limit, o.taxii_user_limit, o.read_only_user_limit,
           o.api_users_allowed, o.read_only_users_free,
           (coalesce((select c.users from user_account_counts c where c.organization_id = org and c.account_type = type), 0)
            + coalesce((select sum(d.delta) from user_account_deltas d where d.organization_id = org and d.account_type = type), 0))::int,
           current_setting('max_connections')::int
    from organizations o where o.id = org;
end $$;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop function if exists roster_share_license(uuid, text);`);
  }
}
