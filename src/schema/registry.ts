/**
 * The attribute registry: every attribute of every SCIM resource Roster serves, described
 * once. Its entries say what RFC 7643 section 7 says of an attribute (type,
 * multiValued, mutability, returned, caseExact, canonical values...) and where Roster
 * keeps it. Everything else is derived from it:
 * - scim/: the Roster extension's schema definition (and so /Schemas and validation),
 *   the draft read from a request, `toScimUser`;
 * - orm/: the filter and sort catalog, the repository's columns, the SQL that renders a
 *   page of users;
 * - the entity the migrations are generated from.
 * test/db/registry.test.ts walks the registry and fails when any consumer disagrees.
 *
 * Adding an attribute is one entry here and one migration (`npm run migration:create`).
 *
 * This module imports nothing but the domain's role names: scim/ and orm/ both read it,
 * and it holds no SQL text, only column names.
 */
export type AttributeType = 'string' | 'boolean' | 'integer' | 'decimal' | 'dateTime' | 'reference' | 'binary' | 'complex';
export type Mutability = 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
export type Returned = 'always' | 'never' | 'default' | 'request';
export type ColumnType = 'text' | 'integer' | 'boolean' | 'jsonb';

/** Where an attribute's value is kept. */
export type Storage =
  /** One column of the resource's table. */
  | { kind: 'column'; column: string; columnType: ColumnType; nullable: boolean; default?: string }
  /** A single-valued complex attribute whose sub-attributes each have a column (`name`). */
  | { kind: 'columns' }
  /** A value inside the schema's jsonb column (the enterprise extension), at `keys`. */
  | { kind: 'json'; keys: string[] }
  /** Worked out by the store from other columns (`id` as text, `accountType`, `meta`): orm/ knows how. */
  | { kind: 'derived' }
  /** Rows of another table (a user's `groups`, a group's `members`): orm/ knows how. */
  | { kind: 'relation' }
  /** Never stored as sent (`password`: its argon2id hash is). */
  | { kind: 'secret' };

export interface AttributeDefinition {
  name: string;
  type: AttributeType;
  multiValued: boolean;
  mutability: Mutability;
  returned: Returned;
  caseExact: boolean;
  required: boolean;
  uniqueness: 'none' | 'server' | 'global';
  /** The values RFC 7643 or DOMAIN.md names; `enforced` ones refuse any other value. */
  canonicalValues?: readonly string[];
  canonicalEnforced?: boolean;
  referenceTypes?: readonly string[];
  description?: string;
  subAttributes: AttributeDefinition[];
  storage: Storage;
  /** Whether filters and sortBy may name it (pushed down to SQL). */
  filterable: boolean;
  /**
   * Ids (uuids, stored in lowercase) that filters compare exactly, so their indexes serve
   * `eq`; the schema still declares them as RFC 7643 does.
   */
  comparedExactly?: boolean;
  /** Read from a create only (POST, Bulk POST); PUT and PATCH leave the stored value. */
  createOnly?: boolean;
}

export interface SchemaSpec {
  id: string;
  name: string;
  description: string;
  attributes: AttributeDefinition[];
  /** A schema kept whole in one jsonb column (the enterprise extension). */
  jsonColumn?: string;
  /** The domain field the schema's block maps to (`enterprise`); the core and Roster schemas map attribute by attribute. */
  field?: string;
}

export interface ResourceSpec {
  name: 'User' | 'Group';
  endpoint: string;
  table: string;
  core: SchemaSpec;
  extensions: SchemaSpec[];
}

type Options = Partial<Omit<AttributeDefinition, 'name' | 'type' | 'storage'>>;

/** An attribute with RFC 7643's defaults (section 2.2): readWrite, returned by default, case-insensitive. */
export function attribute(name: string, type: AttributeType, storage: Storage, options: Options = {}): AttributeDefinition {
  return {
    name,
    type,
    multiValued: false,
    mutability: 'readWrite',
    returned: 'default',
    caseExact: false,
    required: false,
    uniqueness: 'none',
    subAttributes: [],
    filterable: storage.kind !== 'secret',
    ...options,
    storage,
  };
}

export const column = (name: string, columnType: ColumnType, options: { nullable?: boolean; default?: string } = {}): Storage => ({
  kind: 'column',
  column: name,
  columnType,
  nullable: options.nullable ?? true,
  ...(options.default !== undefined ? { default: options.default } : {}),
});

export const derived: Storage = { kind: 'derived' };
export const relation: Storage = { kind: 'relation' };
export const json = (...keys: string[]): Storage => ({ kind: 'json', keys });

/** Every schema of a resource, the core schema first. */
export const schemasOf = (resource: ResourceSpec): SchemaSpec[] => [resource.core, ...resource.extensions];

/**
 * The sub-attribute a filter or sortBy means when it names a complex attribute alone
 * (`emails co "x"`, `sortBy=manager`): `value`, or the first sub-attribute (`addresses`: `formatted`).
 */
export function defaultSubAttribute(attribute: AttributeDefinition): string | undefined {
  if (attribute.subAttributes.length === 0) return undefined;
  return attribute.subAttributes.find((s) => s.name === 'value')?.name ?? attribute.subAttributes[0].name;
}

/** An attribute of a schema by name, in any letter case. */
export function attributeNamed(schema: SchemaSpec, name: string): AttributeDefinition | undefined {
  const lower = name.toLowerCase();
  return schema.attributes.find((a) => a.name.toLowerCase() === lower);
}
