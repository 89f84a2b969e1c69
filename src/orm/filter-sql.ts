/**
 * Translates a SCIM `Filter` into a parameterised PostgreSQL boolean expression, and a
 * `sortBy` into an ORDER BY term, using an attribute catalog (see ./filter-catalog).
 * Placeholders are `?` (./sql numbers them); values only ever travel in `params`.
 *
 * Semantics worth knowing:
 * - Strings that are not caseExact compare with lower() on both sides; co/sw/ew use
 *   LIKE with `%`, `_` and `\` escaped in the value. `pr` on a string means neither
 *   NULL nor ''. `eq null` is IS NULL, `ne null` is IS NOT NULL.
 * - `ne` is "not eq": on a single-valued attribute it also matches rows where the
 *   attribute has no value (IS DISTINCT FROM). On a multi-valued attribute it follows
 *   RFC 7644's "any value matches": some element whose sub-attribute differs (an element
 *   without it counts); an empty array matches nothing.
 * - `not (F)` is `NOT COALESCE(F, false)`: an unknown (NULL) comparison counts as false
 *   before negation, so `not (title eq "x")` matches rows whose title is NULL.
 * - Multi-valued attributes match when any element matches (EXISTS over
 *   jsonb_array_elements, or the relation's subquery); `attr[...]` requires one element
 *   to satisfy the whole bracket filter; `attr pr` means at least one element.
 * - A complex single-valued attribute without sub-attribute: `pr` means any
 *   sub-attribute is present; comparisons use its default sub-attribute, if any.
 */
import { invalidFilter, invalidValue, DomainError } from '../domain/errors';
import type { AttributePath, CompareOperator, Filter, FilterValue } from '../domain/filter';
import { type AttributeCatalog, type ElementField, type ScalarSpec, isString, lookup, pathText, resolveAttribute } from './filter-catalog';

export * from './filter-catalog';

export interface SqlFragment {
  sql: string;
  params: unknown[];
}

type Leaf = Extract<Filter, { kind: 'compare' | 'present' }>;

/** Resolves a bare sub-attribute name inside `attr[...]` to the element's value. */
type ElementScope = (name: string) => ScalarSpec;

export interface TranslateOptions {
  /**
   * A comparison on an attribute the catalog does not know is false instead of an
   * error (a search across resource types: `userName` on a Group matches nothing).
   */
  unknownAttributesMatchNothing?: boolean;
}

export function filterToSql(filter: Filter, catalog: AttributeCatalog, options: TranslateOptions = {}): SqlFragment {
  return new Translator(catalog, options).filter(filter, undefined);
}

class Translator {
  private aliases = 0;

  constructor(
    private readonly catalog: AttributeCatalog,
    private readonly options: TranslateOptions = {},
  ) {}

  /** Whether a top-level path names nothing in the catalog and the options say that is false. */
  private unknownToLenient(path: AttributePath): boolean {
    if (!this.options.unknownAttributesMatchNothing) return false;
    try {
      resolveAttribute(this.catalog, path);
      return false;
    } catch {
      return true;
    }
  }

  filter(filter: Filter, scope: ElementScope | undefined): SqlFragment {
    switch (filter.kind) {
      case 'and':
      case 'or': {
        const left = this.filter(filter.left, scope);
        const right = this.filter(filter.right, scope);
        const op = filter.kind === 'and' ? 'AND' : 'OR';
        return { sql: `(${left.sql} ${op} ${right.sql})`, params: [...left.params, ...right.params] };
      }
      case 'not': {
        const inner = this.filter(filter.filter, scope);
        return { sql: `NOT COALESCE(${inner.sql}, false)`, params: inner.params };
      }
      case 'valuePath':
        if (scope) throw invalidFilter(`value paths cannot be nested ('${pathText(filter.path)}[...]')`, 'filter.value_path_nested');
        if (this.unknownToLenient(filter.path)) return { sql: 'false', params: [] };
        return this.valuePath(filter);
      default:
        if (scope) {
          if (filter.path.schema !== undefined || filter.path.subAttribute !== undefined) {
            throw invalidFilter(`'${pathText(filter.path)}': inside [...] name a sub-attribute of the element`, 'filter.value_path_sub_attribute_missing');
          }
          return leaf(scope(filter.path.attribute), filter, filter.path.attribute);
        }
        if (this.unknownToLenient(filter.path)) return { sql: 'false', params: [] };
        return this.attribute(filter);
    }
  }

  /** A comparison or `pr` on a top-level path. */
  private attribute(filter: Leaf): SqlFragment {
    const { path } = filter;
    const name = pathText(path);
    const spec = resolveAttribute(this.catalog, path);
    switch (spec.kind) {
      case 'scalar':
        if (path.subAttribute !== undefined) {
          throw invalidFilter(`'${path.attribute}' has no sub-attributes (in '${name}')`, 'filter.sub_attribute_none');
        }
        return leaf(spec, filter, name);
      case 'complex': {
        const sub = path.subAttribute ?? spec.defaultSubAttribute;
        if (sub === undefined && filter.kind === 'present') {
          const parts = Object.values(spec.subAttributes).map((s) => presentSql(s));
          return { sql: `(${parts.join(' OR ')})`, params: [] };
        }
        if (sub === undefined) {
          throw invalidFilter(`'${name}' is complex: compare one of its sub-attributes (${subNames(spec.subAttributes, name)})`, 'filter.complex_compared');
        }
        return leaf(subAttribute(spec.subAttributes, sub, path.attribute), filter, name);
      }
      case 'jsonArray': {
        if (path.subAttribute === undefined && filter.kind === 'present') {
          return { sql: `jsonb_array_length(${spec.sql}) > 0`, params: [] };
        }
        const sub = path.subAttribute ?? spec.defaultSubAttribute ?? 'value';
        const alias = this.alias();
        const element = elementScalar(alias, subAttribute(spec.subAttributes, sub, path.attribute), sub);
        return exists(`jsonb_array_elements(${spec.sql}) AS ${alias}(v)`, leaf(element, filter, name));
      }
      case 'relation': {
        if (path.subAttribute === undefined && filter.kind === 'present') {
          return { sql: `EXISTS (SELECT 1 FROM ${spec.from} WHERE ${spec.correlate})`, params: [] };
        }
        const sub = path.subAttribute ?? spec.defaultSubAttribute ?? 'value';
        const condition = leaf(subAttribute(spec.subAttributes, sub, path.attribute), filter, name);
        return exists(spec.from, condition, spec.correlate);
      }
    }
  }

  /** `attr[filter]`: one element (or the single complex value) satisfies the whole filter. */
  private valuePath(filter: Extract<Filter, { kind: 'valuePath' }>): SqlFragment {
    const { path } = filter;
    if (path.subAttribute !== undefined) {
      throw invalidFilter(`'${pathText(path)}[...]': a value path must name an attribute, not a sub-attribute`, 'filter.value_path_on_sub_attribute');
    }
    const spec = resolveAttribute(this.catalog, path);
    switch (spec.kind) {
      case 'scalar':
        throw invalidFilter(`'${pathText(path)}' is not a complex attribute and cannot take a [...] filter`, 'filter.value_path_not_complex');
      case 'complex':
        return this.filter(filter.filter, (name) => subAttribute(spec.subAttributes, name, path.attribute));
      case 'jsonArray': {
        const alias = this.alias();
        const inner = this.filter(filter.filter, (name) => elementScalar(alias, subAttribute(spec.subAttributes, name, path.attribute), name));
        return exists(`jsonb_array_elements(${spec.sql}) AS ${alias}(v)`, inner);
      }
      case 'relation': {
        const inner = this.filter(filter.filter, (name) => subAttribute(spec.subAttributes, name, path.attribute));
        return exists(spec.from, inner, spec.correlate);
      }
    }
  }

  private alias(): string {
    return `scim_e${++this.aliases}`;
  }
}

function exists(from: string, condition: SqlFragment, correlate?: string): SqlFragment {
  const where = correlate ? `${correlate} AND ${condition.sql}` : condition.sql;
  return { sql: `EXISTS (SELECT 1 FROM ${from} WHERE ${where})`, params: condition.params };
}

function subAttribute<T>(subs: Record<string, T>, name: string, owner: string): T {
  const spec = lookup(subs, name);
  if (spec === undefined) {
    throw invalidFilter(`unknown attribute '${owner}.${name}' (known: ${subNames(subs, owner)})`, 'filter.sub_attribute_unknown');
  }
  return spec;
}

function subNames(subs: Record<string, unknown>, owner: string): string {
  return Object.keys(subs)
    .map((key) => `${owner}.${key}`)
    .join(', ');
}

/** The value of one sub-attribute of the jsonb element bound to `alias(v)`. */
function elementScalar(alias: string, field: ElementField, name: string): ScalarSpec {
  const key = (field.key ?? name).replace(/'/g, "''");
  return { kind: 'scalar', sql: `${alias}.v->>'${key}'`, type: field.type, caseExact: field.caseExact, json: true };
}

// ---- comparisons on one value -------------------------------------------------

function presentSql(spec: ScalarSpec): string {
  return isString(spec.type) ? `(${spec.sql} IS NOT NULL AND ${spec.sql} <> '')` : `${spec.sql} IS NOT NULL`;
}

function leaf(spec: ScalarSpec, filter: Leaf, name: string): SqlFragment {
  if (filter.kind === 'present') return { sql: presentSql(spec), params: [] };
  return compare(spec, filter.op, filter.value, name);
}

const SQL_OPERATORS: Record<'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le', string> = {
  eq: '=',
  ne: 'IS DISTINCT FROM',
  gt: '>',
  ge: '>=',
  lt: '<',
  le: '<=',
};

function compare(spec: ScalarSpec, op: CompareOperator, value: FilterValue, name: string): SqlFragment {
  if (value === null) {
    if (op === 'eq') return { sql: `${spec.sql} IS NULL`, params: [] };
    if (op === 'ne') return { sql: `${spec.sql} IS NOT NULL`, params: [] };
    throw invalidFilter(`'${name} ${op} null': '${op}' needs a value other than null`, 'filter.null_operand');
  }
  if (isString(spec.type)) return compareString(spec, op, expect(value, 'string', spec, name), name);
  if (op === 'co' || op === 'sw' || op === 'ew') {
    throw invalidFilter(`'${op}' applies to strings; '${name}' is ${spec.type}`, 'filter.operator_not_for_type');
  }
  switch (spec.type) {
    case 'boolean':
      if (op !== 'eq' && op !== 'ne') throw invalidFilter(`'${op}' cannot compare the boolean attribute '${name}'`, 'filter.operator_not_for_boolean');
      return binary(typed(spec, 'boolean'), op, '?', expect(value, 'boolean', spec, name));
    case 'integer':
    case 'decimal': {
      const number = expect(value, 'number', spec, name);
      const asBigint = spec.type === 'integer' && !spec.json && Number.isSafeInteger(number);
      return binary(typed(spec, 'numeric'), op, asBigint ? 'CAST(? AS bigint)' : 'CAST(? AS numeric)', number);
    }
    default: {
      const date = dateTimeValue(expect(value, 'string', spec, name), name);
      return binary(typed(spec, 'timestamptz'), op, 'CAST(? AS timestamptz)', date);
    }
  }
}

function compareString(spec: ScalarSpec, op: CompareOperator, value: string, name: string): SqlFragment {
  const left = spec.caseExact ? spec.sql : `lower(${spec.sql})`;
  const right = spec.caseExact ? '?' : 'lower(?)';
  switch (op) {
    case 'co':
    case 'sw':
    case 'ew': {
      const escaped = value.replace(/[\\%_]/g, (c) => `\\${c}`);
      const pattern = op === 'sw' ? `${escaped}%` : op === 'ew' ? `%${escaped}` : `%${escaped}%`;
      return { sql: `${left} LIKE ${right}`, params: [pattern] };
    }
    case 'gt':
    case 'ge':
    case 'lt':
    case 'le':
      if (spec.type === 'binary') throw invalidFilter(`'${op}' cannot compare the binary attribute '${name}'`, 'filter.operator_not_for_binary');
      return binary(left, op, right, value);
    default:
      return binary(left, op, right, value);
  }
}

function binary(left: string, op: keyof typeof SQL_OPERATORS, right: string, value: unknown): SqlFragment {
  return { sql: `${left} ${SQL_OPERATORS[op]} ${right}`, params: [value] };
}

/** The value expression in its SQL type: text extracted from jsonb is cast. */
function typed(spec: ScalarSpec, sqlType: 'boolean' | 'numeric' | 'timestamptz'): string {
  return spec.json ? `(${spec.sql})::${sqlType}` : spec.sql;
}

function expect<T extends 'string' | 'number' | 'boolean'>(
  value: string | number | boolean,
  jsType: T,
  spec: ScalarSpec,
  name: string,
): T extends 'string' ? string : T extends 'number' ? number : boolean {
  if (typeof value !== jsType) {
    throw invalidFilter(`'${name}' is ${article(spec.type)} and cannot be compared with ${JSON.stringify(value)}`, 'filter.value_type_mismatch');
  }
  return value as never;
}

function article(type: string): string {
  return /^[aeiou]/i.test(type) ? `an ${type}` : `a ${type}`;
}

/**
 * xsd:dateTime / RFC 3339 (section 5.6), with what identity providers send besides: a
 * date alone, `t` or a space for `T`, no seconds, no zone, `+hhmm`.
 */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(?:[Zz]|([+-])(\d{2}):?(\d{2}))?)?$/;

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/**
 * Checks a dateTime filter value fully and returns the instant it names as UTC text
 * PostgreSQL reads as a timestamptz, so no value the filter accepts can make the query
 * fail: year 1 to 9999, a real calendar day, hours 00-23, minutes 00-59, seconds 00-60
 * (a leap second), a zone offset up to ±23:59 (RFC 3339; PostgreSQL itself refuses
 * offsets past ±15:59, so the offset is applied here). A value without a zone is
 * taken as UTC; a date alone as its midnight UTC. Fractions keep nine digits
 * (PostgreSQL keeps six).
 */
export function dateTimeValue(value: string, name: string): string {
  const m = DATE_TIME.exec(value.trim());
  const invalid = () => invalidFilter(`'${name}' is a dateTime and ${JSON.stringify(value)} is not a date`, 'filter.invalid_date');
  if (!m) throw invalid();
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes] = [1, 2, 3, 4, 5, 6, 9, 10].map((i) => (m[i] === undefined ? 0 : Number(m[i])));
  const fraction = m[7] === undefined ? '' : `.${m[7].slice(0, 9)}`;
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  const realDay = year >= 1 && date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
  if (!realDay || hour > 23 || minute > 59 || second > 60 || offsetHours > 23 || offsetMinutes > 59) throw invalid();
  const offset = (m[8] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes);
  // Second 60 (a leap second) rolls into the next minute: PostgreSQL refuses 23:59:60.5.
  date.setUTCHours(hour, minute - offset, second, 0);
  const utcYear = date.getUTCFullYear(); // 0 (1 BC) to 10000 once the offset is applied
  const rest = `${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}${fraction}Z`;
  return utcYear >= 1 ? `${pad(utcYear, 4)}-${rest}` : `${pad(1 - utcYear, 4)}-${rest} BC`;
}

// ---- sorting -------------------------------------------------------------------

/**
 * ORDER BY term for `sortBy`/`sortOrder` (RFC 7644 section 3.4.2.3), e.g.
 * `lower(u.user_name) ASC NULLS LAST`. Missing values sort last when ascending, first
 * when descending. Case-insensitive strings sort by lower(). A multi-valued attribute
 * sorts by (the sub-attribute of) its primary element, else its first element;
 * relations cannot be sorted on. Errors are `invalidValue('sort.invalid', ...)`.
 */
export function sortToSql(catalog: AttributeCatalog, path: AttributePath, descending = false): SqlFragment {
  let expression: string;
  try {
    expression = sortExpression(catalog, path);
  } catch (error) {
    if (error instanceof DomainError && error.kind === 'invalid_filter') {
      throw invalidValue('sort.invalid', `cannot sort by '${pathText(path)}': ${error.message}`);
    }
    throw error;
  }
  return { sql: `${expression} ${descending ? 'DESC NULLS FIRST' : 'ASC NULLS LAST'}`, params: [] };
}

function sortExpression(catalog: AttributeCatalog, path: AttributePath): string {
  const name = pathText(path);
  const spec = resolveAttribute(catalog, path);
  switch (spec.kind) {
    case 'scalar':
      if (path.subAttribute !== undefined) throw invalidFilter(`'${path.attribute}' has no sub-attributes`, 'filter.sort_sub_attribute_none');
      return sortValue(spec);
    case 'complex': {
      const sub = path.subAttribute ?? spec.defaultSubAttribute;
      if (sub === undefined) throw invalidFilter(`'${name}' is complex: sort by one of ${subNames(spec.subAttributes, name)}`, 'filter.sort_complex');
      return sortValue(subAttribute(spec.subAttributes, sub, path.attribute));
    }
    case 'jsonArray': {
      const sub = path.subAttribute ?? spec.defaultSubAttribute ?? 'value';
      const value = sortValue(elementScalar('scim_s', subAttribute(spec.subAttributes, sub, path.attribute), sub));
      const primary = spec.primarySubAttribute ?? 'primary';
      const primaryField = lookup(spec.subAttributes, primary);
      const primaryKey = (primaryField?.key ?? primary).replace(/'/g, "''");
      const first = primaryField ? `(scim_s.v->'${primaryKey}' = 'true'::jsonb) IS TRUE DESC, ` : '';
      return `(SELECT ${value} FROM jsonb_array_elements(${spec.sql}) WITH ORDINALITY AS scim_s(v, n) ` + `ORDER BY ${first}scim_s.n LIMIT 1)`;
    }
    case 'relation':
      throw invalidFilter(`'${name}' is held in another table and cannot be sorted on`, 'filter.sort_relation');
  }
}

function sortValue(spec: ScalarSpec): string {
  switch (spec.type) {
    case 'boolean':
      return typed(spec, 'boolean');
    case 'integer':
    case 'decimal':
      return typed(spec, 'numeric');
    case 'dateTime':
      return typed(spec, 'timestamptz');
    default:
      return spec.caseExact ? spec.sql : `lower(${spec.sql})`;
  }
}
