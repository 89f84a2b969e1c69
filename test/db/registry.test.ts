import { USER_DEFAULTS, type User } from '../../src/domain/user';
import { GROUP_CATALOG, USER_CATALOG, USER_FIELDS } from '../../src/orm/attribute-sql';
import type { Database } from '../../src/orm/database';
import { jsonText, resolveAttribute, type AttributeCatalog } from '../../src/orm/filter-catalog';
import { Sql } from '../../src/orm/sql';
import { schemasOf, type AttributeDefinition, type ResourceSpec } from '../../src/schema/registry';
import { ENTERPRISE_USER_SCHEMA, GROUP_RESOURCE, ROSTER_USER_SCHEMA, USER_RESOURCE } from '../../src/schema/resources';
import { configureScimmy, SCIMMY, withSuggestedValues } from '../../src/scim/schema/scimmy';
import { toScimUser, userDraftFromScim } from '../../src/scim/resources/user.mapper';
import { openTestDatabase } from '../support/database';

/**
 * The attribute registry (src/schema) is the one description of every attribute; this
 * walks it and fails when any consumer disagrees: scimmy's schema definitions (what
 * validates requests and what /Schemas shows), the filter catalogs, the table's
 * columns, the draft read from a request and the resource sent back.
 */
type Json = Record<string, unknown>;

/** An attribute as /Schemas shows it (RFC 7643 section 7). */
interface Described {
  name: string;
  type: string;
  multiValued: boolean;
  required: boolean;
  caseExact: boolean;
  mutability: string;
  returned: string;
  uniqueness?: string;
  canonicalValues?: string[];
  referenceTypes?: string[];
  subAttributes?: Described[];
}

let database: Database;
let sql: Sql;

beforeAll(async () => {
  configureScimmy();
  database = await openTestDatabase();
  sql = Sql.onPool(database.pool);
});
afterAll(() => database.close());

const RESOURCES: [string, ResourceSpec, AttributeCatalog][] = [
  ['User', USER_RESOURCE, USER_CATALOG],
  ['Group', GROUP_RESOURCE, GROUP_CATALOG],
];

/** What /Schemas serves for a schema: scimmy's description, with the suggested canonical values written back. */
function served(id: string): Described[] {
  const definition = SCIMMY.Schemas.declared().find((d) => d.id === id) as { describe(): unknown } | undefined;
  if (!definition) throw new Error(`/Schemas has no ${id}`);
  return (withSuggestedValues(JSON.parse(JSON.stringify(definition.describe())) as Json).attributes as Described[]).filter((a) => a.name !== 'schemas');
}

/** The characteristics the registry states, as /Schemas spells them. scimmy writes uniqueness `false` for some core attributes: that is `none`. */
const fromRegistry = (a: AttributeDefinition) => ({
  name: a.name,
  type: a.type,
  multiValued: a.multiValued,
  required: a.required,
  caseExact: a.caseExact,
  mutability: a.mutability,
  returned: a.returned,
  uniqueness: a.uniqueness,
  canonicalValues: a.canonicalValues && a.canonicalValues.length > 0 ? [...a.canonicalValues] : undefined,
  referenceTypes: a.referenceTypes ? [...a.referenceTypes] : undefined,
});
const fromSchemas = (a: Described) => ({
  name: a.name,
  type: a.type,
  multiValued: a.multiValued === true,
  required: a.required === true,
  caseExact: a.caseExact === true,
  mutability: a.mutability,
  returned: a.returned,
  uniqueness: a.uniqueness === undefined || String(a.uniqueness) === 'false' ? 'none' : a.uniqueness,
  canonicalValues: a.canonicalValues && a.canonicalValues.length > 0 ? a.canonicalValues : undefined,
  referenceTypes: a.referenceTypes && a.referenceTypes.length > 0 ? a.referenceTypes : undefined,
});

/** Every attribute and sub-attribute of a resource, with its schema and its parent. */
function walk(resource: ResourceSpec) {
  const out: { schema: string; attribute: AttributeDefinition; parent?: AttributeDefinition }[] = [];
  for (const schema of schemasOf(resource)) {
    for (const attribute of schema.attributes) {
      out.push({ schema: schema.id, attribute });
      for (const sub of attribute.subAttributes) out.push({ schema: schema.id, attribute: sub, parent: attribute });
    }
  }
  return out;
}

describe.each(RESOURCES)('the registry of %s', (_name, resource, catalog) => {
  it('is what /Schemas serves, attribute by attribute, both ways', () => {
    const common = ['id', 'externalId', 'meta']; // RFC 7643 section 3.1: /Schemas leaves them out
    for (const schema of schemasOf(resource)) {
      const theirs = served(schema.id);
      const ours = schema.attributes.filter((a) => !common.includes(a.name));
      expect(ours.map((a) => a.name).sort()).toEqual(theirs.map((a) => a.name).sort());
      for (const a of ours) {
        const described = theirs.find((d) => d.name === a.name) as Described;
        expect(fromRegistry(a)).toEqual(fromSchemas(described));
        expect(a.subAttributes.map(fromRegistry)).toEqual((described.subAttributes ?? []).map(fromSchemas));
      }
    }
  });

  it('lets filters name exactly the filterable attributes', () => {
    for (const { schema, attribute, parent } of walk(resource)) {
      const path = parent ? { schema, attribute: parent.name, subAttribute: attribute.name } : { schema, attribute: attribute.name };
      const filterable = attribute.filterable && (!parent || parent.filterable);
      const resolve = () => {
        const spec = resolveAttribute(catalog, path);
        if (parent && (spec.kind === 'complex' || spec.kind === 'jsonArray' || spec.kind === 'relation')) {
          if (!(attribute.name in spec.subAttributes)) throw new Error(`no sub-attribute ${attribute.name}`);
        }
        return spec;
      };
      if (filterable) expect(resolve).not.toThrow();
      else expect(resolve).toThrow();
    }
  });

  it('compares each filterable attribute where it is stored, as its type, case-exactly where the registry says', () => {
    const alias = resource.name === 'User' ? 'u' : 'g';
    const stringLike = ['string', 'reference', 'binary'];
    for (const { schema, attribute, parent } of walk(resource)) {
      if (!attribute.filterable || (parent && !parent.filterable) || (!parent && attribute.subAttributes.length > 0)) continue;
      const spec = resolveAttribute(catalog, parent ? { schema, attribute: parent.name, subAttribute: attribute.name } : { schema, attribute: attribute.name });
      const target = (parent ? (spec as unknown as { subAttributes: Record<string, unknown> }).subAttributes[attribute.name] : spec) as {
        sql?: string;
        type: string;
        caseExact: boolean;
      };
      const name = parent ? `${parent.name}.${attribute.name}` : attribute.name;
      expect({ name, type: target.type }).toEqual({ name, type: attribute.type });
      // A derived attribute's comparison is the store's own expression (orm/attribute-sql.ts DERIVED).
      if (stringLike.includes(attribute.type) && attribute.storage.kind !== 'derived') {
        const exact = attribute.caseExact || attribute.comparedExactly === true || attribute.type !== 'string';
        expect({ name, caseExact: target.caseExact }).toEqual({ name, caseExact: exact });
      }
      if (attribute.storage.kind === 'column' && !parent) expect({ name, sql: target.sql }).toEqual({ name, sql: `${alias}.${attribute.storage.column}` });
      if (attribute.storage.kind === 'column' && parent?.storage.kind === 'columns') expect(target.sql).toBe(`${alias}.${attribute.storage.column}`);
      const jsonColumn = schemasOf(resource).find((x) => x.id === schema)?.jsonColumn;
      if (attribute.storage.kind === 'json' && jsonColumn) expect(target.sql).toBe(jsonText(`${alias}.${jsonColumn}`, attribute.storage.keys));
    }
  });

  it('keeps every stored attribute in a column of its table, typed and defaulted as the registry says', async () => {
    const columns = await sql.all<{ column_name: string; data_type: string; is_nullable: string; column_default: string | null }>(
      `select column_name, data_type, is_nullable, column_default from information_schema.columns where table_name = ? and table_schema = current_schema()`,
      [resource.table],
    );
    const byName = new Map(columns.map((c) => [c.column_name, c]));
    const types = { text: 'text', integer: 'integer', boolean: 'boolean', jsonb: 'jsonb' };
    for (const { attribute } of walk(resource)) {
      if (attribute.storage.kind !== 'column') continue;
      const found = byName.get(attribute.storage.column);
      expect({
        attribute: attribute.name,
        column: found?.column_name,
        type: found?.data_type,
        nullable: found?.is_nullable === 'YES',
        default: found?.column_default ?? undefined,
      }).toEqual({
        attribute: attribute.name,
        column: attribute.storage.column,
        type: types[attribute.storage.columnType],
        nullable: attribute.storage.nullable,
        default: attribute.storage.default,
      });
    }
    for (const schema of schemasOf(resource)) if (schema.jsonColumn) expect(byName.get(schema.jsonColumn)?.data_type).toBe('jsonb');
  });
});

describe('the registry of User, read and written', () => {
  const filled = (a: AttributeDefinition): unknown => {
    if (a.canonicalValues && a.canonicalValues.length > 0) return a.canonicalValues[a.canonicalValues.length - 1];
    if (a.multiValued) {
      const value = { reference: 'https://example.com/photo.png', binary: 'aGVsbG8=' }[a.subAttributes[0].type as 'binary'] ?? `${a.name}-value`;
      return [{ ...(a.name === 'addresses' ? { formatted: value } : { value }), type: 'work', primary: true }];
    }
    if (a.type === 'complex') return Object.fromEntries(a.subAttributes.map((s) => [s.name, `${a.name}-${s.name}`]));
    return { string: `${a.name}-text`, reference: `https://example.com/${a.name}`, boolean: true, integer: 42 }[a.type as 'string'];
  };

  it('reads every writable attribute from a create, and returns every attribute returned by default', () => {
    const body: Json = { schemas: [USER_RESOURCE.core.id, ...USER_RESOURCE.extensions.map((e) => e.id)] };
    const writable = (a: AttributeDefinition) => a.mutability !== 'readOnly' && a.storage.kind !== 'secret';
    for (const a of USER_RESOURCE.core.attributes.filter(writable)) body[a.name] = filled(a);
    for (const schema of USER_RESOURCE.extensions) {
      body[schema.id] = Object.fromEntries(schema.attributes.filter(writable).map((a) => [a.name, filled(a)]));
    }
    (body[USER_RESOURCE.extensions[0].id] as Json).manager = { value: '6f1b7c1e-1c1a-4d3b-9a63-5d0b1f6f9a10' };
    const draft = userDraftFromScim(body, { create: true }) as unknown as Json;
    // Every field a client may set is in the draft, as sent.
    for (const a of USER_RESOURCE.core.attributes.filter(writable)) expect([a.name, draft[a.name]]).toEqual([a.name, body[a.name]]);
    for (const a of USER_RESOURCE.extensions[1].attributes.filter(writable)) {
      expect([a.name, draft[a.name]]).toEqual([a.name, (body[USER_RESOURCE.extensions[1].id] as Json)[a.name]]);
    }
    expect(draft.enterprise).toMatchObject({ employeeNumber: 'employeeNumber-text' });
    // Every stored field has a column, and nothing the repository writes lacks an attribute.
    expect(USER_FIELDS.map((f) => f.field).sort()).toEqual(Object.keys({ ...USER_DEFAULTS, userName: '', mfaEnabled: false }).sort());
    for (const stored of USER_FIELDS) {
      const a = [...USER_RESOURCE.core.attributes, ...USER_RESOURCE.extensions[1].attributes].find((x) => x.name === stored.field);
      if (stored.field === 'enterprise') expect(stored.column).toBe(USER_RESOURCE.extensions[0].jsonColumn);
      else if (a?.storage.kind === 'column')
        expect([stored.field, stored.column, stored.writable]).toEqual([a.name, a.storage.column, a.mutability !== 'readOnly']);
      else expect(Object.values(stored.parts ?? {})).toEqual(a?.subAttributes.map((sub) => (sub.storage as { column: string }).column));
    }

    const user = {
      ...USER_DEFAULTS,
      ...draft,
      id: 'f7c0c1a2-0d1e-4b8e-9d7a-1a2b3c4d5e6f',
      organizationId: 'o',
      mfaEnabled: true,
      passwordHash: null,
      // Its roles come from group g1 (systemRoleSource and organizationRoleSource name it).
      systemRoleGroupId: 'g1',
      organizationRoleGroupId: 'g1',
      createdAt: new Date(0),
      updatedAt: new Date(0),
      version: 3,
    } as User;
    const resource = toScimUser(user, [{ id: 'g1', displayName: 'Group' }], 'https://roster.example/scim/v2');
    expect((resource[ROSTER_USER_SCHEMA] as Json).systemRoleSource).toBe('Group');
    const returned = (a: AttributeDefinition) => a.returned === 'default' || a.returned === 'always';
    expect(Object.keys(resource).filter((k) => !k.startsWith('urn:'))).toEqual([
      'schemas',
      ...USER_RESOURCE.core.attributes.filter(returned).map((a) => a.name),
    ]);
    // The order clients have always seen: a change to it is made on purpose.
    expect(Object.keys(resource)).toEqual([
      'schemas',
      'id',
      'externalId',
      'userName',
      'name',
      'displayName',
      'nickName',
      'profileUrl',
      'title',
      'userType',
      'preferredLanguage',
      'locale',
      'timezone',
      'active',
      'emails',
      'phoneNumbers',
      'ims',
      'photos',
      'addresses',
      'entitlements',
      'roles',
      'x509Certificates',
      'groups',
      ENTERPRISE_USER_SCHEMA,
      ROSTER_USER_SCHEMA,
      'meta',
    ]);
    for (const schema of USER_RESOURCE.extensions) {
      const expected = schema.jsonColumn ? Object.keys(resource[schema.id] as Json) : schema.attributes.filter(returned).map((a) => a.name);
      expect(Object.keys(resource[schema.id] as Json)).toEqual(expected);
    }
    // Write-only attributes are never sent back.
    expect(JSON.stringify(resource)).not.toContain('sendAccountInfoEmail');
    expect(resource).not.toHaveProperty('password');
  });

  it('reads a create-only attribute from a create only', () => {
    const roster = USER_RESOURCE.extensions[1];
    const body = { schemas: [USER_RESOURCE.core.id, roster.id], userName: 'create.only@example.com', [roster.id]: { sendAccountInfoEmail: true } };
    expect(userDraftFromScim(body, { create: true }).sendAccountInfoEmail).toBe(true);
    expect(userDraftFromScim(body).sendAccountInfoEmail).toBeUndefined();
    expect(userDraftFromScim(body, { complete: true }).sendAccountInfoEmail).toBeUndefined();
  });
});
