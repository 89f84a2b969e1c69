import { USER_DEFAULTS, type User } from '../../src/domain/user';
import { scimmyConfig } from '../../src/extensions/roster-user';
import { GROUP_CATALOG, USER_CATALOG, USER_FIELDS } from '../../src/orm/attribute-sql';
import type { Database } from '../../src/orm/database';
import { resolveAttribute, type AttributeCatalog } from '../../src/orm/filter-catalog';
import { Sql } from '../../src/orm/sql';
import { schemasOf, type AttributeDefinition, type ResourceSpec } from '../../src/schema/registry';
import { GROUP_RESOURCE, USER_RESOURCE } from '../../src/schema/resources';
import { canonicalValuesOf, configureScimmy, SCIMMY } from '../../src/scim/schema/scimmy';
import { toScimUser, userDraftFromScim } from '../../src/scim/resources/user.mapper';
import { openTestDatabase } from '../support/database';

/**
 * The attribute registry (src/schema) is the one description of every attribute; this
 * walks it and fails when any consumer disagrees: scimmy's schema definitions (what
 * validates requests and what /Schemas shows), the filter catalogs, the table's
 * columns, the draft read from a request and the resource sent back.
 */
type Json = Record<string, unknown>;

interface ScimmyAttribute {
  name: string;
  type: string;
  config: Json;
  subAttributes?: ScimmyAttribute[];
}

let database: Database;
let sql: Sql;

beforeAll(async () => {
  configureScimmy();
  database = await openTestDatabase();
  sql = Sql.onPool(database.pool);
});
afterAll(() => database.close());

const RESOURCES: [string, ResourceSpec, { definition: { id: string; attributes: unknown[] } }, AttributeCatalog][] = [
  ['User', USER_RESOURCE, SCIMMY.Schemas.User as never, USER_CATALOG],
  ['Group', GROUP_RESOURCE, SCIMMY.Schemas.Group as never, GROUP_CATALOG],
];

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

/** scimmy's definition of a schema: the core one, or an extension attached to it. */
function scimmySchema(definition: { id: string; attributes: unknown[] }, id: string): ScimmyAttribute[] {
  if (definition.id === id) return definition.attributes as ScimmyAttribute[];
  const extension = (definition.attributes as { id?: string; attributes?: unknown[] }[]).find((a) => a.id === id);
  if (!extension?.attributes) throw new Error(`scimmy has no schema ${id}`);
  return extension.attributes as ScimmyAttribute[];
}

/** The characteristics both sides state, in scimmy's spelling (scimmy writes uniqueness of some multi-valued attributes as `false`). */
function characteristics(name: string, type: string, config: Json) {
  const canonical = Array.isArray(config.canonicalValues) && config.canonicalValues.length > 0 ? [...(config.canonicalValues as string[])] : undefined;
  return {
    name,
    type,
    multiValued: config.multiValued === true,
    mutable: config.mutable ?? true,
    returned: config.returned ?? true,
    required: config.required === true,
    caseExact: config.caseExact === true,
    canonicalValues: canonical,
    referenceTypes: Array.isArray(config.referenceTypes) && config.referenceTypes.length > 0 ? config.referenceTypes : undefined,
  };
}

describe.each(RESOURCES)('the registry of %s', (_name, resource, scimmyResource, catalog) => {
  it('agrees with every attribute of scimmy schema definitions, both ways', () => {
    for (const schema of schemasOf(resource)) {
      const scimmyAttributes = scimmySchema(scimmyResource.definition, schema.id).filter((a) => a.name !== 'schemas' && a.config);
      const ours = schema.attributes;
      // The core definitions carry id, externalId and meta; an extension's attributes are its own.
      expect(ours.map((a) => a.name).sort()).toEqual(scimmyAttributes.map((a) => a.name).filter((n) => schema.id === resource.core.id || !['id', 'externalId', 'meta'].includes(n)).sort());
      for (const a of ours) {
        const theirs = scimmyAttributes.find((s) => s.name === a.name) as ScimmyAttribute;
        expect(characteristics(a.name, a.type, scimmyConfig(a))).toEqual(characteristics(theirs.name, theirs.type, theirs.config));
        expect(a.subAttributes.map((s) => s.name)).toEqual((theirs.subAttributes ?? []).map((s) => s.name));
        for (const sub of a.subAttributes) {
          const theirSub = (theirs.subAttributes ?? []).find((s) => s.name === sub.name) as ScimmyAttribute;
          expect(characteristics(`${a.name}.${sub.name}`, sub.type, scimmyConfig(sub))).toEqual(
            // Canonical values of sub-attributes of multi-valued attributes are suggestions, kept beside scimmy's config.
            characteristics(`${a.name}.${theirSub.name}`, theirSub.type, { ...theirSub.config, canonicalValues: canonicalValuesOf(theirSub) }),
          );
        }
      }
    }
  });

  it('lets filters name exactly the filterable attributes', () => {
    for (const { schema, attribute, parent } of walk(resource)) {
      const path = parent
        ? { schema, attribute: parent.name, subAttribute: attribute.name }
        : { schema, attribute: attribute.name };
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
      expect({ attribute: attribute.name, column: found?.column_name, type: found?.data_type, nullable: found?.is_nullable === 'YES', default: found?.column_default ?? undefined }).toEqual({
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

    const user = { ...USER_DEFAULTS, ...draft, id: 'f7c0c1a2-0d1e-4b8e-9d7a-1a2b3c4d5e6f', organizationId: 'o', mfaEnabled: true, passwordHash: null, createdAt: new Date(0), updatedAt: new Date(0), version: 3 } as User;
    const resource = toScimUser(user, [{ id: 'g1', displayName: 'Group' }], 'https://roster.example/scim/v2');
    const returned = (a: AttributeDefinition) => a.returned === 'default' || a.returned === 'always';
    expect(Object.keys(resource).filter((k) => !k.startsWith('urn:'))).toEqual(['schemas', ...USER_RESOURCE.core.attributes.filter(returned).map((a) => a.name)]);
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
