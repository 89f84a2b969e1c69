import { Migration } from '@mikro-orm/migrations';

export class Migration20261122081817_initial extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "organizations" ("id" uuid not null default gen_random_uuid(), "slug" text not null, "name" text not null, "standard_user_limit" int null, "api_user_limit" int null, "taxii_user_limit" int null, "read_only_user_limit" int null, "api_users_allowed" boolean not null default true, "read_only_users_free" boolean not null default false, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), constraint "organizations_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "organizations" add constraint "organizations_slug_unique" unique ("slug");`);

    this.addSql(
      `create table "groups" ("id" uuid not null default gen_random_uuid(), "organization_id" uuid not null, "display_name" text not null, "external_id" text null, "version" int not null default 1, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), constraint "groups_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "groups_organization_external_id_index" on "groups" ("organization_id", "external_id");`);
    this.addSql(`create index "groups_organization_created_index" on "groups" ("organization_id", "created_at", "id");`);
    this.addSql(`create unique index "groups_organization_display_name_lower_unique" on "groups" ("organization_id", lower("display_name"));`);

    this.addSql(
      `create table "api_credentials" ("id" uuid not null default gen_random_uuid(), "organization_id" uuid not null, "name" text not null, "secret_hash" text not null, "system_role" text not null, "organization_role" text not null, "created_at" timestamptz not null default now(), "last_used_at" timestamptz null, "expires_at" timestamptz null, "revoked_at" timestamptz null, constraint "api_credentials_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "api_credentials" add constraint "api_credentials_secret_hash_unique" unique ("secret_hash");`);

    this.addSql(
      `create table "users" ("id" uuid not null default gen_random_uuid(), "organization_id" uuid not null, "user_name" text not null, "external_id" text null, "display_name" text null, "nick_name" text null, "profile_url" text null, "title" text null, "user_type" text null, "preferred_language" text null, "locale" text null, "timezone" text null, "name_formatted" text null, "name_family_name" text null, "name_given_name" text null, "name_middle_name" text null, "name_honorific_prefix" text null, "name_honorific_suffix" text null, "active" boolean not null default true, "emails" jsonb not null default '[]', "phone_numbers" jsonb not null default '[]', "ims" jsonb not null default '[]', "photos" jsonb not null default '[]', "addresses" jsonb not null default '[]', "entitlements" jsonb not null default '[]', "roles" jsonb not null default '[]', "x509_certificates" jsonb not null default '[]', "enterprise" jsonb null, "system_role" text not null, "organization_role" text not null, "custom_tql_timeout" int null, "locked" boolean not null default false, "password_reset_required" boolean not null default true, "mfa_enabled" boolean not null default false, "mfa_reset_required" boolean not null default false, "terms_of_service_acceptance_required" boolean not null default false, "logout_after_minutes" int null, "summary_email_time" text null, "token_expiration_days" int null, "include_in_observations" boolean null, "allow_exceed_api_link_limit" boolean null, "password_hash" text null, "version" int not null default 1, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), constraint "users_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "users_organization_external_id_index" on "users" ("organization_id", "external_id");`);
    this.addSql(`create index "users_organization_created_index" on "users" ("organization_id", "created_at", "id");`);
    this.addSql(`create index "users_organization_user_name_lower_index" on "users" ("organization_id", lower("user_name"), "id");`);
    this.addSql(`create unique index "users_user_name_lower_unique" on "users" (lower("user_name"));`);

    this.addSql(
      `create table "group_members" ("group_id" uuid not null, "user_id" uuid not null, "created_at" timestamptz not null default now(), constraint "group_members_pkey" primary key ("group_id", "user_id"));`,
    );
    this.addSql(`create index "group_members_user_index" on "group_members" ("user_id", "group_id");`);

    this.addSql(
      `alter table "groups" add constraint "groups_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "api_credentials" add constraint "api_credentials_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "users" add constraint "users_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "group_members" add constraint "group_members_group_id_foreign" foreign key ("group_id") references "groups" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "group_members" add constraint "group_members_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "groups" drop constraint "groups_organization_id_foreign";`);

    this.addSql(`alter table "api_credentials" drop constraint "api_credentials_organization_id_foreign";`);

    this.addSql(`alter table "users" drop constraint "users_organization_id_foreign";`);

    this.addSql(`alter table "group_members" drop constraint "group_members_group_id_foreign";`);

    this.addSql(`alter table "group_members" drop constraint "group_members_user_id_foreign";`);

    this.addSql(`drop table if exists "organizations" cascade;`);

    this.addSql(`drop table if exists "groups" cascade;`);

    this.addSql(`drop table if exists "api_credentials" cascade;`);

    this.addSql(`drop table if exists "users" cascade;`);

    this.addSql(`drop table if exists "group_members" cascade;`);
  }
}
