import type { Filter, FilterValue } from '../../domain/filter';
import { invalidFilter } from '../http/errors';
import type { AttributeInfo } from '../schema/schema-index';

type Json = Record<string, unknown>;

/**
 * Whether one element of a multi-valued attribute (one email, one member) satisfies a
 * value filter such as `type eq "work" and value co "@x"`. This runs on the elements
 * of the single resource being patched, never over rows: collection filters are SQL.
 */
export function matchesElement(element: Json, filter: Filter, attribute: AttributeInfo): boolean {
  switch (filter.kind) {
    case 'and':
      return matchesElement(element, filter.left, attribute) && matchesElement(element, filter.right, attribute);
    case 'or':
      return matchesElement(element, filter.left, attribute) || matchesElement(element, filter.right, attribute);
    case 'not':
      return !matchesElement(element, filter.filter, attribute);
    case 'valuePath':
      throw invalidFilter('patch.value_filter_nested', 'value filters cannot be nested');
    default: {
      if (filter.path.schema || filter.path.subAttribute) {
        throw invalidFilter('patch.value_filter_path_invalid', `inside [...] name a sub-attribute of ${attribute.name}`);
      }
      const name = filter.path.attribute.toLowerCase();
      const sub = attribute.subAttributes.get(name);
      if (!sub && attribute.subAttributes.size > 0) {
        throw invalidFilter('patch.value_filter_attribute_unknown', `unknown attribute "${attribute.name}.${filter.path.attribute}"`);
      }
      const key = Object.keys(element).find((k) => k.toLowerCase() === name);
      const actual = key === undefined ? undefined : element[key];
      if (filter.kind === 'present') return actual !== undefined && actual !== null && actual !== '';
      return compare(actual, filter.op, filter.value, sub?.caseExact ?? false);
    }
  }
}

function compare(actual: unknown, op: string, expected: FilterValue, caseExact: boolean): boolean {
  if (expected === null) return op === 'eq' ? actual === undefined || actual === null : actual !== undefined && actual !== null;
  if (actual === undefined || actual === null) return op === 'ne';
  if (typeof actual === 'string' && typeof expected === 'string') {
    const a = caseExact ? actual : actual.toLowerCase();
    const b = caseExact ? expected : expected.toLowerCase();
    switch (op) {
      case 'eq':
        return a === b;
      case 'ne':
        return a !== b;
      case 'co':
        return a.includes(b);
      case 'sw':
        return a.startsWith(b);
      case 'ew':
        return a.endsWith(b);
      case 'gt':
        return a > b;
      case 'ge':
        return a >= b;
      case 'lt':
        return a < b;
      default:
        return a <= b;
    }
  }
  switch (op) {
    case 'eq':
      return actual === expected;
    case 'ne':
      return actual !== expected;
    case 'gt':
      return typeof actual === 'number' && typeof expected === 'number' && actual > expected;
    case 'ge':
      return typeof actual === 'number' && typeof expected === 'number' && actual >= expected;
    case 'lt':
      return typeof actual === 'number' && typeof expected === 'number' && actual < expected;
    case 'le':
      return typeof actual === 'number' && typeof expected === 'number' && actual <= expected;
    default:
      return false;
  }
}
