import { Migration } from '@mikro-orm/migrations';

export class Migration20261201040000_rate_limit_counters extends Migration {
  override async up(): Promise<void> {
    // rate-limiter-flexible's RateLimiterPostgres table (ROSTER_RATE_LIMIT_STORE=postgres),
    // created here rather than by the library (scim/http/rate-limit.ts passes tableCreated).
    // Unlogged: counters of the current minute need no WAL, and a crash may reset them.
    this.addSql(
      `create unlogged table "rate_limit_counters" ("key" varchar(255) not null, "points" int not null default 0, "expire" bigint null, constraint "rate_limit_counters_pkey" primary key ("key"));`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "rate_limit_counters" cascade;`);
  }
}
