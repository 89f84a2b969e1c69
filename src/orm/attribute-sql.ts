/**
 * Where each SCIM attribute lives in SQL, derived from the attribute registry
 * (src/schema): the filter and sort catalogs of Users and Groups, and the columns a
 * user's fields are written to and read from. What the registry leaves to the store
 * (`derived` and `relation` attributes) is written here, once.
 */
import { defaultSubAttribute, schemasOf, type AttributeDefinition, type ResourceSpec, type SchemaSpec } from '../schema/registry';
import { GROUP_RESOURCE, USER_RESOURCE } from '../schema/resources';
import {
  complex,
  field,
  jsonArray,
  jsonScalar,
  relation,
  scalar,
  type AttributeCatalog,
  type AttributeSpec,
  type ElementField,
  type ScalarSpec,
} from './filter-catalog';

/**
 * The account type a user's system role implies (domain/roles.ts accountTypeOf), in
 * SQL: the function the license counts' triggers use (migration account_counts), which
 * PostgreSQL inlines as its CASE expression.
 */
export const ACCOUNT_TYPE_SQL = 'roster_account_type(u.system_role)';

const meta = (alias: string, resourceType: string): Record<string, ScalarSpec> => ({
  resourceType: scalar(`'${resourceType}'::text`),
  created: scalar(`${alias}.created_at`, 'dateTime'),
  lastModified: scalar(`${alias}.updated_at`, 'dateTime'),
  version: scalar(`('W/"' || ${alias}.version || '"')`, 'string', { caseExact: true }),
});

/** The store's side of `derived` attributes, by resource and attribute (`meta` by sub-attribute). */
const DERIVED: Record<string, Record<string, ScalarSpec | Record<string, ScalarSpec>>> = {
  User: { id: scalar('u.id::text', 'string', { caseExact: true }), accountType: scalar(ACCOUNT_TYPE_SQL), meta: meta('u', 'User') },
  Group: { id: scalar('g.id::text', 'string', { caseExact: true }), meta: meta('g', 'Group') },
};

/** The store's side of `relation` attributes: the subquery each element is matched in, and its sub-attributes. */
const RELATIONS: Record<string, Record<string, { from: string; correlate: string; subAttributes: Record<string, string> }>> = {
  User: {
    groups: {
      from: 'group_members ugm join groups ug on ug.id = ugm.group_id',
      correlate: 'ugm.user_id = u.id',
      subAttributes: { value: 'ugm.group_id::text', display: 'ug.display_name', type: `'direct'::text` },
    },
  },
  Group: {
    members: {
      from: 'group_members gm join users mu on mu.id = gm.user_id',
      correlate: 'gm.group_id = g.id',
      subAttributes: { value: 'gm.user_id::text', display: 'coalesce(mu.display_name, mu.user_name)', type: `'User'::text` },
    },
  },
};

/** How a filter compares a value: case-exact as declared, for references and binaries (RFC 7643 section 2.3.7), and for ids. */
const exact = (a: AttributeDefinition) => a.caseExact || a.comparedExactly === true || a.type === 'reference' || a.type === 'binary';
const scalarType = (a: AttributeDefinition) => (a.type === 'complex' ? 'string' : a.type);

function derivedSpec(resource: ResourceSpec, a: AttributeDefinition): AttributeSpec {
  const spec = DERIVED[resource.name]?.[a.name];
  if (!spec) throw new Error(`no SQL for the derived attribute ${resource.name}.${a.name}`);
  if ('kind' in spec) return spec as ScalarSpec;
  const subs = spec as Record<string, ScalarSpec>;
  return complex(Object.fromEntries(a.subAttributes.filter((s) => s.filterable && subs[s.name]).map((s) => [s.name, subs[s.name]])));
}

function relationSpec(resource: ResourceSpec, a: AttributeDefinition): AttributeSpec {
  const found = RELATIONS[resource.name]?.[a.name];
  if (!found) throw new Error(`no SQL for the relation ${resource.name}.${a.name}`);
  const subAttributes: Record<string, ScalarSpec> = {};
  for (const sub of a.subAttributes.filter((s) => s.filterable)) {
    subAttributes[sub.name] = scalar(found.subAttributes[sub.name], scalarType(sub), { caseExact: exact(sub) });
  }
  return relation({ from: found.from, correlate: found.correlate, subAttributes });
}

/** One attribute's filter spec, or undefined when filters may not name it. */
function spec(resource: ResourceSpec, schema: SchemaSpec, alias: string, a: AttributeDefinition): AttributeSpec | undefined {
  if (!a.filterable) return undefined;
  const storage = a.storage;
  switch (storage.kind) {
    case 'column':
      if (a.multiValued) {
        const fields: Record<string, ElementField> = {};
        for (const sub of a.subAttributes.filter((s) => s.filterable)) fields[sub.name] = field(scalarType(sub), { caseExact: exact(sub) });
        return jsonArray(`${alias}.${storage.column}`, fields, { defaultSubAttribute: defaultSubAttribute(a) });
      }
      return scalar(`${alias}.${storage.column}`, scalarType(a), { caseExact: exact(a) });
    case 'columns':
      return complex(
        Object.fromEntries(
          a.subAttributes
            .filter((s) => s.filterable && s.storage.kind === 'column')
            .map((s) => [s.name, scalar(`${alias}.${(s.storage as { column: string }).column}`, scalarType(s), { caseExact: exact(s) })]),
        ),
      );
    case 'json': {
      const jsonColumn = `${alias}.${schema.jsonColumn}`;
      if (a.subAttributes.length === 0) return jsonScalar(jsonColumn, storage.keys, scalarType(a), { caseExact: exact(a) });
      const subs: Record<string, ScalarSpec> = {};
      for (const sub of a.subAttributes.filter((s) => s.filterable && s.storage.kind === 'json')) {
        subs[sub.name] = jsonScalar(jsonColumn, (sub.storage as { keys: string[] }).keys, scalarType(sub), { caseExact: exact(sub) });
      }
      return complex(subs, defaultSubAttribute(a));
    }
    case 'derived':
      return derivedSpec(resource, a);
    case 'relation':
      return relationSpec(resource, a);
    case 'secret':
      return undefined;
  }
}

/** The filter and sort catalog of a resource type, from the registry. */
export function catalogOf(resource: ResourceSpec, alias: string): AttributeCatalog {
  const schemas: AttributeCatalog['schemas'] = {};
  for (const schema of schemasOf(resource)) {
    const attributes: Record<string, AttributeSpec> = {};
    for (const a of schema.attributes) {
      const found = spec(resource, schema, alias, a);
      if (found) attributes[a.name] = found;
    }
    schemas[schema.id] = attributes;
  }
  return { coreSchema: resource.core.id, schemas };
}

export const USER_CATALOG = catalogOf(USER_RESOURCE, 'u');
export const GROUP_CATALOG = catalogOf(GROUP_RESOURCE, 'g');

/** A user field stored in columns: one column, or (`name`) one per part. */
export interface StoredField {
  field: string;
  column?: string;
  /** `name`: part -> column. */
  parts?: Record<string, string>;
  json: boolean;
  /** Read-only attributes (`mfaEnabled`) are read from the row, never written from a draft. */
  writable: boolean;
}

/**
 * The user fields kept in columns, from the registry: each core and Roster attribute a
 * client may write, `name` spread over its columns, and the enterprise extension kept
 * whole in its jsonb column. Read-only ones (`mfaEnabled`) are read, never written from a draft.
 */
function storedFields(resource: ResourceSpec): StoredField[] {
  const out: StoredField[] = [];
  for (const schema of schemasOf(resource)) {
    if (schema.jsonColumn && schema.field) {
      out.push({ field: schema.field, column: schema.jsonColumn, json: true, writable: true });
      continue;
    }
    for (const a of schema.attributes) {
      if (a.storage.kind === 'column') {
        out.push({ field: a.name, column: a.storage.column, json: a.storage.columnType === 'jsonb', writable: a.mutability !== 'readOnly' });
      }
      if (a.storage.kind === 'columns') {
        const parts: Record<string, string> = {};
        for (const s of a.subAttributes) if (s.storage.kind === 'column') parts[s.name] = s.storage.column;
        out.push({ field: a.name, parts, json: false, writable: a.mutability !== 'readOnly' });
      }
    }
  }
  return out;
}

export const USER_FIELDS: readonly StoredField[] = storedFields(USER_RESOURCE);
