import { Migration } from '@mikro-orm/migrations';

export class Migration20261201064637_signing_keys extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "signing_keys" ("kid" text not null, "algorithm" text not null default 'ES256', "private_jwk" jsonb not null, "public_jwk" jsonb not null, "created_at" timestamptz not null default now(), "retired_at" timestamptz null, "expires_at" timestamptz null, constraint "signing_keys_pkey" primary key ("kid"));`,
    );
    this.addSql(`create unique index "signing_keys_one_active_unique" on "signing_keys" ((true)) where "retired_at" is null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "signing_keys" cascade;`);
  }
}
