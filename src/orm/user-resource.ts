import type { AttributeDefinition } from '../schema/registry';
import { ENTERPRISE_USER_SCHEMA, ROSTER_USER_SCHEMA, USER_RESOURCE, USER_SCHEMA } from '../schema/resources';
import { ACCOUNT_TYPE_SQL } from './attribute-sql';
import type { SqlFragment } from './filter-sql';

/**
 * A user (a `users` row `u`) as its SCIM User resource with the attributes returned by
 * default, written as JSON text by PostgreSQL: what `toScimUser` (scim/resources/user.mapper.ts)
 * builds from a User, attribute for attribute and in the same order. A list page of
 * a hundred users then costs Node one string join instead of parsing each row,
 * building each resource and serialising it again (most of the server's time on
 * large pages). Equivalence with toScimUser is checked by test/db/user-resource.test.ts;
 * a change to one is a change to both.
 *
 * Text is concatenated rather than built with json_build_object so that unassigned
 * attributes (NULL, [] or {}) are left out as SCIM requires, at the top level only,
 * keeping PostgreSQL 15 (no ABSENT ON NULL) and stored values as they are.
 *
 * The attributes, their order and their columns come from the attribute registry
 * (src/schema/resources.ts), as toScimUser's do.
 */
const ENTERPRISE_SCHEMA = ENTERPRISE_USER_SCHEMA;
const ROSTER_SCHEMA = ROSTER_USER_SCHEMA;

/** A SQL string literal of a JSON object key and its colon: `'"key":'`. */
const key = (name: string) => `'${JSON.stringify(name).replace(/'/g, "''")}:'`;

/** `"key":value`, or NULL when the value (JSON text) is NULL, so concat_ws leaves it out. */
const member = (name: string, jsonText: string) => `${key(name)} || ${jsonText}`;

/** A text column as JSON text (NULL stays NULL). */
const scalar = (name: string, column: string) => member(name, `to_json(u.${column})::text`);

/** A boolean or integer column: its text is its JSON (no to_json call per value). */
const plain = (name: string, column: string) => member(name, `u.${column}::text`);

/** A jsonb column as it is stored, unless unassigned (SQL or JSON null, [] or {}). */
const stored = (name: string, column: string) => member(name, `nullif(nullif(nullif(u.${column}, 'null'::jsonb), '[]'::jsonb), '{}'::jsonb)::text`);

/** An object of members, or NULL when none has a value. */
const object = (members: string[]) => `('{' || nullif(concat_ws(',', ${members.join(', ')}), '') || '}')`;

const ENTERPRISE_COLUMN = USER_RESOURCE.extensions.find((e) => e.id === ENTERPRISE_SCHEMA)?.jsonColumn ?? 'enterprise';
const ENTERPRISE = `nullif(nullif(u.${ENTERPRISE_COLUMN}, 'null'::jsonb), '{}'::jsonb)`;

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

// Ids are uuids (nothing to escape); the base URL comes escaped; displayName is escaped here.
const GROUPS = `(select '[' || string_agg('{"value":"' || g.id || '","$ref":"' || ?::text || '/Groups/' || g.id
    || '","display":' || coalesce(to_json(g.display_name)::text, 'null') || ',"type":"direct"}', ',' order by g.display_name, g.id) || ']'
  from group_members gm join groups g on g.id = gm.group_id where gm.user_id = u.id and g.organization_id = u.organization_id)`;

/** The JSON text of `derived` and `relation` attributes (beside `id` and `meta`), by name. */
const COMPUTED: Record<string, string> = {
  // One of four constants: nothing to escape.
  accountType: `'"' || ${ACCOUNT_TYPE_SQL} || '"'`,
  groups: GROUPS,
  // The displayNames of the groups granting the roles (a primary-key lookup, for users with one).
  systemRoleSource: `(select to_json(rg.display_name)::text from groups rg where rg.id = u.system_role_group_id)`,
  organizationRoleSource: `(select to_json(rg.display_name)::text from groups rg where rg.id = u.organization_role_group_id)`,
};

/** One attribute as `"name":value` text, or undefined when it is not returned by default. */
function memberOf(a: AttributeDefinition): string | undefined {
  if (a.returned === 'never' || a.returned === 'request') return undefined;
  const storage = a.storage;
  switch (storage.kind) {
    case 'column':
      if (storage.columnType === 'jsonb') return stored(a.name, storage.column);
      return storage.columnType === 'text' ? scalar(a.name, storage.column) : plain(a.name, storage.column);
    case 'columns':
      return member(a.name, object(a.subAttributes.flatMap((sub) => (sub.storage.kind === 'column' ? [scalar(sub.name, sub.storage.column)] : []))));
    case 'derived':
    case 'relation':
      if (COMPUTED[a.name] === undefined) throw new Error(`no SQL for the attribute ${a.name}`);
      return member(a.name, COMPUTED[a.name]);
    default:
      return undefined;
  }
}

function resourceColumns(): string {
  const members = [member('schemas', SCHEMAS), member('id', `'"' || u.id || '"'`)];
  for (const a of USER_RESOURCE.core.attributes) {
    if (a.name === 'id' || a.name === 'meta') continue;
    const text = memberOf(a);
    if (text) members.push(text);
  }
  for (const schema of USER_RESOURCE.extensions) {
    if (schema.jsonColumn) members.push(member(schema.id, `${ENTERPRISE}::text`));
    else members.push(member(schema.id, object(schema.attributes.flatMap((a) => memberOf(a) ?? []))));
  }
  const meta = `'{"resourceType":"User","created":' || ${instant('created_at')} || ',"lastModified":' || ${instant('updated_at')}
    || ',"location":"' || ?::text || '/Users/' || u.id || '","version":"W/\\"' || u.version || '\\""}'`;
  members.push(member('meta', meta));
  return `u.id, ${object(members)} as resource_json`;
}

/** Built once: the text is the same for every request (and so is its prepared statement). */
const RESOURCE_COLUMNS = resourceColumns();
