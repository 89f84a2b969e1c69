/**
 * Parser for SCIM filters (RFC 7644 section 3.4.2.2) into the domain's `Filter` tree.
 *
 *   filter    = orExpr
 *   orExpr    = andExpr *("or" andExpr)                 ; and binds tighter than or
 *   andExpr   = unary *("and" unary)
 *   unary     = "not" "(" filter ")" / "(" filter ")" / attrExp / valuePath
 *   attrExp   = attrPath "pr" / attrPath compareOp compValue
 *   valuePath = attrPath "[" valFilter "]" ["." subAttr (compareOp compValue / "pr")]
 *
 * Operators and keywords (`and`, `or`, `not`, `pr`, `true`, `false`, `null`) are
 * case-insensitive; operators are lower-cased in the tree. Attribute names keep the
 * client's spelling. Inside `[...]` attribute names are bare sub-attribute names (no
 * schema, no dot) and value paths do not nest.
 *
 * `emails[type eq "work"].value eq "x"` (a value path followed by a sub-attribute, as
 * in PATCH paths) becomes the value path whose element filter is the bracket filter
 * AND'ed with the comparison on the sub-attribute: "some element has type work and
 * value x", i.e. `valuePath(emails, and(type eq "work", value eq "x"))`.
 *
 * Limits: the text may not exceed `maxLength` characters (default 4096), and groups may
 * not nest deeper than `maxDepth` (default 32) where each `(...)` — including the one
 * after `not` — and each `[...]` counts as one level; `and`/`or` do not add levels.
 *
 * Every error is an `invalidFilter` naming what was wrong and its 1-based position.
 */
import { invalidFilter } from '../../domain/errors';
import type { AttributePath, CompareOperator, Filter, FilterValue } from '../../domain/filter';
import { describe, tokenize, type Token } from './filter-lexer';

export interface FilterLimits {
  maxLength?: number;
  maxDepth?: number;
}

export const DEFAULT_MAX_FILTER_LENGTH = 4096;
export const DEFAULT_MAX_FILTER_DEPTH = 32;

const COMPARE_OPERATORS: ReadonlySet<string> = new Set(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le']);
const RESERVED = new Set(['and', 'or', 'not']);
const ATTRIBUTE_NAME = /^\$?[A-Za-z][A-Za-z0-9_-]*$/;
const SCHEMA_URN = /^urn(?::[A-Za-z0-9._-]+)+$/i;

export function parseFilter(text: string, limits: FilterLimits = {}): Filter {
  const maxLength = limits.maxLength ?? DEFAULT_MAX_FILTER_LENGTH;
  if (text.length > maxLength) {
    throw invalidFilter(`filter is ${text.length} characters long; the limit is ${maxLength}`, 'filter.too_long');
  }
  if (text.trim() === '') throw invalidFilter('filter is empty', 'filter.empty');
  return new Parser(tokenize(text), limits.maxDepth ?? DEFAULT_MAX_FILTER_DEPTH).parse();
}

/**
 * Parses a bare attribute path as used by `sortBy`, `attributes` and the left side of
 * a comparison: `userName`, `name.familyName`, `urn:...:enterprise:2.0:User:manager.value`.
 * The schema is everything up to the last colon.
 */
export function parseAttributePath(text: string, position = 1): AttributePath {
  const colon = text.lastIndexOf(':');
  const schema = colon >= 0 ? text.slice(0, colon) : undefined;
  const parts = text.slice(colon + 1).split('.');
  if (schema !== undefined && !SCHEMA_URN.test(schema)) {
    throw invalidFilter(`'${text}' at position ${position} is not an attribute path: '${schema}' is not a schema URN`, 'filter.path_schema_invalid');
  }
  if (parts.length > 2 || !parts.every((part) => ATTRIBUTE_NAME.test(part))) {
    throw invalidFilter(`'${text}' at position ${position} is not an attribute path (expected attribute or attribute.subAttribute)`, 'filter.path_invalid');
  }
  const path: AttributePath = { attribute: parts[0] };
  if (schema !== undefined) path.schema = schema;
  if (parts.length === 2) path.subAttribute = parts[1];
  return path;
}

class Parser {
  private index = 0;
  private depth = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly maxDepth: number,
  ) {}

  parse(): Filter {
    const filter = this.orExpr(false);
    const token = this.peek();
    if (token.type === ')' || token.type === ']') {
      throw invalidFilter(`unbalanced '${token.type}' at position ${token.pos}`, 'filter.unbalanced');
    }
    if (token.type !== 'end') {
      throw invalidFilter(`expected 'and', 'or' or the end of the filter at position ${token.pos}, found ${describe(token)}`, 'filter.trailing_input');
    }
    return filter;
  }

  private orExpr(inValuePath: boolean): Filter {
    let left = this.andExpr(inValuePath);
    while (this.keyword('or')) {
      this.index++;
      left = { kind: 'or', left, right: this.andExpr(inValuePath) };
    }
    return left;
  }

  private andExpr(inValuePath: boolean): Filter {
    let left = this.unary(inValuePath);
    while (this.keyword('and')) {
      this.index++;
      left = { kind: 'and', left, right: this.unary(inValuePath) };
    }
    return left;
  }

  private unary(inValuePath: boolean): Filter {
    const token = this.next();
    if (token.type === '(') return this.group(token, inValuePath);
    if (token.type === 'word' && token.text.toLowerCase() === 'not') {
      const open = this.next();
      if (open.type !== '(') {
        throw invalidFilter(`expected '(' after 'not' at position ${open.pos}, found ${describe(open)}`, 'filter.not_without_group');
      }
      return { kind: 'not', filter: this.group(open, inValuePath) };
    }
    if (token.type !== 'word' || RESERVED.has(token.text.toLowerCase())) {
      throw invalidFilter(`expected an attribute path, '(' or 'not' at position ${token.pos}, found ${describe(token)}`, 'filter.expression_expected');
    }
    const path = parseAttributePath(token.text, token.pos);
    if (inValuePath && (path.schema !== undefined || path.subAttribute !== undefined)) {
      throw invalidFilter(
        `'${token.text}' at position ${token.pos}: inside [...] name a sub-attribute of the element, without schema or '.'`,
        'filter.value_path_sub_attribute_invalid',
      );
    }
    if (this.peek().type === '[') return this.valuePath(path, token, inValuePath);
    return this.attributeExpression(path, token.text);
  }

  /** The body of `(...)` after its opening token has been consumed. */
  private group(open: Token, inValuePath: boolean): Filter {
    this.enter(open);
    const filter = this.orExpr(inValuePath);
    this.close(open, ')');
    return filter;
  }

  private valuePath(path: AttributePath, token: Token & { type: 'word' }, inValuePath: boolean): Filter {
    const open = this.next();
    if (inValuePath) throw invalidFilter(`value paths cannot be nested ('[' at position ${open.pos})`, 'filter.value_path_nested');
    if (path.subAttribute !== undefined) {
      throw invalidFilter(
        `'${token.text}[' at position ${token.pos}: a value path must name an attribute, not a sub-attribute`,
        'filter.value_path_on_sub_attribute',
      );
    }
    this.enter(open);
    let filter = this.orExpr(true);
    this.close(open, ']');
    const after = this.peek();
    if (after.type === 'word' && after.text.startsWith('.')) {
      this.index++;
      const sub = parseAttributePath(after.text.slice(1), after.pos + 1);
      if (sub.schema !== undefined || sub.subAttribute !== undefined) {
        throw invalidFilter(`'${after.text}' at position ${after.pos} is not a sub-attribute name`, 'filter.value_path_suffix_invalid');
      }
      filter = { kind: 'and', left: filter, right: this.attributeExpression(sub, `${token.text}[...]${after.text}`) };
    }
    return { kind: 'valuePath', path, filter };
  }

  /** `path pr` or `path op value`, after the path. */
  private attributeExpression(path: AttributePath, written: string): Filter {
    const token = this.next();
    const word = token.type === 'word' ? token.text.toLowerCase() : undefined;
    if (word === 'pr') {
      const following = this.peek();
      if (following.type === 'string' || following.type === 'number' || this.literal(following) !== undefined) {
        throw invalidFilter(`'pr' takes no value, but ${describe(following)} follows it at position ${following.pos}`, 'filter.present_with_value');
      }
      return { kind: 'present', path };
    }
    if (word !== undefined && COMPARE_OPERATORS.has(word)) {
      return { kind: 'compare', path, op: word as CompareOperator, value: this.value(word) };
    }
    if (token.type === 'word') {
      throw invalidFilter(
        `unknown operator '${token.text}' at position ${token.pos}; expected one of eq, ne, co, sw, ew, gt, ge, lt, le, pr`,
        'filter.operator_unknown',
      );
    }
    throw invalidFilter(`expected an operator after '${written}' at position ${token.pos}, found ${describe(token)}`, 'filter.operator_expected');
  }

  private value(op: string): FilterValue {
    const token = this.next();
    if (token.type === 'string' || token.type === 'number') return token.value;
    const literal = this.literal(token);
    if (literal !== undefined) return literal.value;
    throw invalidFilter(
      `missing value after '${op}' at position ${token.pos}: expected a quoted string, a number, true, false or null, found ${describe(token)}`,
      'filter.value_missing',
    );
  }

  private literal(token: Token): { value: boolean | null } | undefined {
    if (token.type !== 'word') return undefined;
    switch (token.text.toLowerCase()) {
      case 'true':
        return { value: true };
      case 'false':
        return { value: false };
      case 'null':
        return { value: null };
      default:
        return undefined;
    }
  }

  private enter(open: Token): void {
    this.depth++;
    if (this.depth > this.maxDepth) {
      throw invalidFilter(`filter nests deeper than ${this.maxDepth} levels at position ${open.pos}`, 'filter.too_deep');
    }
  }

  private close(open: Token, expected: ')' | ']'): void {
    const token = this.next();
    if (token.type === expected) {
      this.depth--;
      return;
    }
    if (token.type === 'end') {
      throw invalidFilter(`missing '${expected}' to close the '${open.type}' at position ${open.pos}`, 'filter.group_unclosed');
    }
    throw invalidFilter(
      `expected '${expected}' (closing the '${open.type}' at position ${open.pos}) at position ${token.pos}, found ${describe(token)}`,
      'filter.group_close_expected',
    );
  }

  private keyword(word: string): boolean {
    const token = this.peek();
    return token.type === 'word' && token.text.toLowerCase() === word;
  }

  private peek(): Token {
    return this.tokens[this.index];
  }

  private next(): Token {
    const token = this.tokens[this.index];
    if (token.type !== 'end') this.index++;
    return token;
  }
}
