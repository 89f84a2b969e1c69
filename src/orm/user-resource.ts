import { ACCOUNT_TYPE_SQL } from './catalogs';
import type { SqlFragment } from './filter-sql';

/**
 * A user (a `users` row `u`) as its SCIM User resource with the attributes returned by
 * default, written as JSON text by PostgreSQL: what `toScimUser` (scim/user.mapper.ts)
 * builds from a User, attribute for attribute and in the same order. A list page of
 * a hundred users then costs Node one string join instead of parsing each row,
 * building each resource and serialising it again (most of the server's time on
 * large pages). Equivalence with toScimUser is checked by test/db/user-resource.test.ts;
 * a change to one is a change to both.
 *
 * Text is concatenated rather than built with json_build_object so that unassigned
 * attributes (NULL, [] or {}) are left out as SCIM requires, at the top level only,
 * keeping PostgreSQL 15 (no ABSENT ON NULL) and stored values as they are.
 */
const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const ROSTER_SCHEMA = 'urn:ietf:params:scim:schemas:extension:roster:2.0:User';

/** A SQL string literal of a JSON object key and its colon: `'"key":'`. */
const key = (name: string) => `'${JSON.stringify(name).replace(/'/g, "''")}:'`;

/** `"key":value`, or NULL when the value (JSON text) is NULL, so concat_ws leaves it out. */
const member = (name: string, jsonText: string) => `${key(name)} || ${jsonText}`;

/** A text column (`name:column`) as JSON text (NULL stays NULL). */
const scalar = (column: string) => member(column.split(':')[0], `to_json(u.${column.split(':')[1]})::text`);

/** A boolean or integer column (`name:column`): its text is its JSON (no to_json call per value). */
const plain = (column: string) => member(column.split(':')[0], `u.${column.split(':')[1]}::text`);

/** A jsonb column as it is stored, unless unassigned (SQL or JSON null, [] or {}). */
const stored = (name: string, column: string) =>
  member(name, `nullif(nullif(nullif(u.${column}, 'null'::jsonb), '[]'::jsonb), '{}'::jsonb)::text`);

/** An object of members, or NULL when none has a value. */
const object = (members: string[]) => `('{' || nullif(concat_ws(',', ${members.join(', ')}), '') || '}')`;

const ENTERPRISE = `nullif(nullif(u.enterprise, 'null'::jsonb), '{}'::jsonb)`;

/** The schemas a user's resource lists (the enterprise extension only when it holds something). */
const SCHEMAS = `(case when ${ENTERPRISE} is null then '${JSON.stringify([USER_SCHEMA, ROSTER_SCHEMA])}'
  else '${JSON.stringify([USER_SCHEMA, ENTERPRISE_SCHEMA, ROSTER_SCHEMA])}' end)`;

const ISO_INSTANT = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;
const instant = (column: string) => `'"' || to_char(u.${column} at time zone 'UTC', ${ISO_INSTANT}) || '"'`;

/**
 * The select-list columns `id` and `resource_json` (text) for a list of users `u`.
 * `baseUrl` (the service's, as links in resources use it) is bound, never spliced,
 * already escaped as the inside of a JSON string, so PostgreSQL escapes it for no row.
 */
export function userResourceColumns(baseUrl: string): SqlFragment {
  const escaped = JSON.stringify(baseUrl).slice(1, -1);
  return { sql: RESOURCE_COLUMNS, params: [escaped, escaped] };
}

/** Built once: the text is the same for every request (and so is its prepared statement). */
const RESOURCE_COLUMNS = resourceColumns();

function resourceColumns(): string {
  const name = object(
    [
      'formatted:name_formatted',
      'familyName:name_family_name',
      'givenName:name_given_name',
      'middleName:name_middle_name',
      'honorificPrefix:name_honorific_prefix',
      'honorificSuffix:name_honorific_suffix',
    ].map(scalar),
  );
  // Ids are uuids (nothing to escape); the base URL comes escaped; displayName is escaped here.
  const groups = `(select '[' || string_agg('{"value":"' || g.id || '","$ref":"' || ?::text || '/Groups/' || g.id
      || '","display":' || coalesce(to_json(g.display_name)::text, 'null') || ',"type":"direct"}', ',' order by g.display_name, g.id) || ']'
    from group_members gm join groups g on g.id = gm.group_id where gm.user_id = u.id and g.organization_id = u.organization_id)`;
  const roster = object([
    ...['systemRole:system_role', 'organizationRole:organization_role'].map(scalar),
    // One of four constants: nothing to escape.
    member('accountType', `'"' || ${ACCOUNT_TYPE_SQL} || '"'`),
    ...[
      'customTqlTimeout:custom_tql_timeout',
      'locked:locked',
      'passwordResetRequired:password_reset_required',
      'mfaEnabled:mfa_enabled',
      'mfaResetRequired:mfa_reset_required',
      'termsOfServiceAcceptanceRequired:terms_of_service_acceptance_required',
      'logoutAfterMinutes:logout_after_minutes',
    ].map(plain),
    scalar('summaryEmailTime:summary_email_time'),
    ...[
      'tokenExpirationDays:token_expiration_days',
      'includeInObservations:include_in_observations',
      'allowExceedApiLinkLimit:allow_exceed_api_link_limit',
    ].map(plain),
  ]);
  const meta = `'{"resourceType":"User","created":' || ${instant('created_at')} || ',"lastModified":' || ${instant('updated_at')}
    || ',"location":"' || ?::text || '/Users/' || u.id || '","version":"W/\\"' || u.version || '\\""}'`;
  const resource = object([
    member('schemas', SCHEMAS),
    member('id', `'"' || u.id || '"'`),
    ...['externalId:external_id', 'userName:user_name'].map(scalar),
    member('name', name),
    ...[
      'displayName:display_name',
      'nickName:nick_name',
      'profileUrl:profile_url',
      'title:title',
      'userType:user_type',
      'preferredLanguage:preferred_language',
      'locale:locale',
      'timezone:timezone',
    ].map(scalar),
    plain('active:active'),
    stored('emails', 'emails'),
    stored('phoneNumbers', 'phone_numbers'),
    stored('ims', 'ims'),
    stored('photos', 'photos'),
    stored('addresses', 'addresses'),
    stored('entitlements', 'entitlements'),
    stored('roles', 'roles'),
    stored('x509Certificates', 'x509_certificates'),
    member('groups', groups),
    member(ENTERPRISE_SCHEMA, `${ENTERPRISE}::text`),
    member(ROSTER_SCHEMA, roster),
    member('meta', meta),
  ]);
  return `u.id, ${resource} as resource_json`;
}
