/**
 * The attribute catalog: how each SCIM attribute of one resource type maps to SQL. The
 * persistence adapter builds one per resource type (Users, Groups) and hands it to
 * `filterToSql` / `sortToSql`. All SQL text in a catalog is trusted, written by us;
 * client values never go into it. Catalog SQL must not contain `?` (it would be taken
 * for a binding: see `numbered` in ./sql).
 *
 * Attribute names and schema URNs are matched case-insensitively.
 */
import { invalidFilter } from '../domain/errors';
import type { AttributePath } from '../domain/filter';

export type ScimType = 'string' | 'boolean' | 'integer' | 'decimal' | 'dateTime' | 'reference' | 'binary';

/** One comparable value: an SQL expression and its SCIM type. */
export interface ScalarSpec {
  kind: 'scalar';
  /** SQL expression yielding the value (a column, or text extracted with `->>`). */
  sql: string;
  type: ScimType;
  /** For string types: compare as written (true) or through lower() on both sides. */
  caseExact: boolean;
  /** The expression is text extracted from jsonb: cast to numeric/boolean/timestamptz. */
  json?: boolean;
}

/** A single-valued complex attribute (`name`, `meta`, the enterprise `manager`). */
export interface ComplexSpec {
  kind: 'complex';
  subAttributes: Record<string, ScalarSpec>;
  /** Sub-attribute used when a filter or sortBy names the attribute alone (`manager` → `value`). */
  defaultSubAttribute?: string;
}

/** A field of one element of a multi-valued attribute, read from the element's jsonb object. */
export interface ElementField {
  type: ScimType;
  caseExact: boolean;
  /** The key in the element object; defaults to the sub-attribute name. */
  key?: string;
}

/** A multi-valued complex attribute stored as a jsonb array of objects (`emails`). */
export interface JsonArraySpec {
  kind: 'jsonArray';
  /** SQL expression yielding the jsonb array. */
  sql: string;
  subAttributes: Record<string, ElementField>;
  /** Sub-attribute implied by `emails co "x"` and `sortBy=emails`; default `value`. */
  defaultSubAttribute?: string;
  /** Boolean sub-attribute marking the element sortBy uses first; default `primary`. */
  primarySubAttribute?: string;
}

/**
 * A multi-valued attribute stored in other tables (group members, a user's groups),
 * matched with `EXISTS (SELECT 1 FROM <from> WHERE <correlate> AND <element condition>)`.
 * The sub-attribute expressions use the aliases introduced in `from`.
 */
export interface RelationSpec {
  kind: 'relation';
  /** e.g. `group_members gm JOIN users mu ON mu.id = gm.user_id` */
  from: string;
  /** Ties the subquery to the outer row, e.g. `gm.group_id = g.id`. */
  correlate: string;
  subAttributes: Record<string, ScalarSpec>;
  /** Sub-attribute implied by `members eq "x"`; default `value`. */
  defaultSubAttribute?: string;
}

export type AttributeSpec = ScalarSpec | ComplexSpec | JsonArraySpec | RelationSpec;

export interface AttributeCatalog {
  /** URN of the core schema: unqualified names are looked up here first. */
  coreSchema: string;
  /** Attributes by schema URN (core and extensions), then by attribute name. */
  schemas: Record<string, Record<string, AttributeSpec>>;
}

// ---- helpers to build catalogs --------------------------------------------------

interface ScalarOptions {
  caseExact?: boolean;
}

/**
 * A column or other SQL expression. As in RFC 7643, `string` is case-insensitive unless
 * told otherwise; `reference` and `binary` are case-exact.
 */
export function scalar(sql: string, type: ScimType = 'string', options: ScalarOptions = {}): ScalarSpec {
  return { kind: 'scalar', sql: checked(sql), type, caseExact: options.caseExact ?? type !== 'string' };
}

/**
 * A value inside a jsonb object column: `jsonScalar('u.enterprise', ['manager', 'value'])`
 * reads `u.enterprise->'manager'->>'value'`.
 */
export function jsonScalar(column: string, keys: readonly string[], type: ScimType = 'string', options: ScalarOptions = {}): ScalarSpec {
  return { ...scalar(jsonText(column, keys), type, options), json: true };
}

export function complex(subAttributes: Record<string, ScalarSpec>, defaultSubAttribute?: string): ComplexSpec {
  return { kind: 'complex', subAttributes, defaultSubAttribute };
}

export function jsonArray(
  sql: string,
  subAttributes: Record<string, ElementField>,
  options: { defaultSubAttribute?: string; primarySubAttribute?: string } = {},
): JsonArraySpec {
  return { kind: 'jsonArray', sql: checked(sql), subAttributes, ...options };
}

/** An element field; `string` is case-insensitive unless told otherwise. */
export function field(type: ScimType = 'string', options: ScalarOptions & { key?: string } = {}): ElementField {
  return { type, caseExact: options.caseExact ?? type !== 'string', key: options.key };
}

export function relation(spec: Omit<RelationSpec, 'kind'>): RelationSpec {
  checked(spec.from);
  checked(spec.correlate);
  return { kind: 'relation', ...spec };
}

/** `col->'a'->>'b'`, with the keys as quoted SQL literals. */
export function jsonText(column: string, keys: readonly string[]): string {
  if (keys.length === 0) throw new Error('jsonText needs at least one key');
  const quoted = keys.map((key) => `'${checked(key).replace(/'/g, "''")}'`);
  const last = quoted.pop();
  return `${[column, ...quoted].join('->')}->>${last}`;
}

export function isString(type: ScimType): boolean {
  return type === 'string' || type === 'reference' || type === 'binary';
}

/** Catalog SQL never carries `?`: it would be taken for a binding. */
function checked(sql: string): string {
  if (sql.includes('?')) throw new Error(`catalog SQL must not contain '?': ${sql}`);
  return sql;
}

// ---- lookup ----------------------------------------------------------------------

/** Case-insensitive lookup of a key in a record. */
export function lookup<T>(record: Record<string, T>, name: string): T | undefined {
  if (Object.prototype.hasOwnProperty.call(record, name)) return record[name];
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(record)) {
    if (key.toLowerCase() === lower) return value;
  }
  return undefined;
}

/**
 * Finds the attribute a path names. A schema-qualified path looks only in that schema;
 * an unqualified one looks in the core schema, then in the extensions in catalog order.
 */
export function resolveAttribute(catalog: AttributeCatalog, path: AttributePath): AttributeSpec {
  if (path.schema !== undefined) {
    const attributes = lookup(catalog.schemas, path.schema);
    if (!attributes) throw invalidFilter(`unknown schema '${path.schema}'`, 'filter.schema_unknown');
    const spec = lookup(attributes, path.attribute);
    if (!spec) throw invalidFilter(`unknown attribute '${path.attribute}' in schema '${path.schema}'`, 'filter.attribute_unknown');
    return spec;
  }
  const core = lookup(catalog.schemas, catalog.coreSchema);
  const found =
    (core && lookup(core, path.attribute)) ??
    Object.values(catalog.schemas)
      .map((attributes) => lookup(attributes, path.attribute))
      .find((spec) => spec !== undefined);
  if (!found) throw invalidFilter(`unknown attribute '${path.attribute}'`, 'filter.attribute_unknown');
  return found;
}

/** `name.familyName` as written, for messages. */
export function pathText(path: AttributePath): string {
  const name = path.subAttribute ? `${path.attribute}.${path.subAttribute}` : path.attribute;
  return path.schema ? `${path.schema}:${name}` : name;
}
