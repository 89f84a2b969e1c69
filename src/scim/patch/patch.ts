import type { AttributePath, Filter } from '../../domain/filter';
import { invalidPath, invalidSyntax, invalidValue, noTarget } from '../http/errors';
import { parseFilter } from '../filter/filter-parser';
import { matchesElement } from '../filter/element-filter';
import { normalizeValue } from '../schema/interop';
import type { AttributeInfo, SchemaIndex } from '../schema/schema-index';
import { PATCH_OP_SCHEMA } from '../schema/scimmy';

type Json = Record<string, unknown>;

export type PatchOpName = 'add' | 'replace' | 'remove';

/** One PATCH operation, checked and with its path parsed. */
export interface PatchOperation {
  op: PatchOpName;
  /** undefined for a path-less operation (value is an object of attributes). */
  path?: PatchPath;
  value?: unknown;
  index: number;
}

/** `attr`, `attr.sub`, `urn:...:attr`, `attr[filter]`, `attr[filter].sub`, or an extension URN alone. */
export interface PatchPath {
  text: string;
  attribute: AttributePath;
  filter?: Filter;
  /** The sub-attribute after `]` in `attr[filter].sub`. */
  subAttribute?: string;
  /** The path names a whole extension block (`urn:...:enterprise:2.0:User`). */
  extension?: string;
}

const OPS = new Set<PatchOpName>(['add', 'replace', 'remove']);

/** Validates a PatchOp message (RFC 7644 section 3.5.2) and parses its paths. */
export function parsePatchRequest(body: unknown, index: SchemaIndex): PatchOperation[] {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw invalidSyntax('patch.body_not_object', 'the request body must be a PatchOp JSON object');
  }
  const message = body as Json;
  const schemas = Array.isArray(message.schemas) ? message.schemas : [];
  if (!schemas.some((s) => typeof s === 'string' && s.toLowerCase() === PATCH_OP_SCHEMA.toLowerCase())) {
    throw invalidSyntax('patch.schemas_invalid', `schemas must be ["${PATCH_OP_SCHEMA}"]`);
  }
  const operations = message.Operations ?? message.operations;
  if (!Array.isArray(operations) || operations.length === 0) {
    throw invalidSyntax('patch.operations_empty', 'Operations must be a non-empty array');
  }
  return operations.map((raw, i) => {
    const where = `operation ${i + 1}`;
    if (!raw || typeof raw !== 'object') throw invalidSyntax('patch.operation_not_object', `${where} must be an object`);
    const operation = raw as Json;
    const op = typeof operation.op === 'string' ? (operation.op.toLowerCase() as PatchOpName) : undefined;
    if (!op || !OPS.has(op)) throw invalidSyntax('patch.op_invalid', `${where}: op must be "add", "replace" or "remove"`);
    const pathText = typeof operation.path === 'string' && operation.path.trim() !== '' ? operation.path.trim() : undefined;
    if (operation.path !== undefined && typeof operation.path !== 'string') {
      throw invalidPath('patch.path_not_string', `${where}: path must be a string`);
    }
    if (op === 'remove' && !pathText) throw noTarget('patch.remove_without_path', `${where}: remove needs a path`);
    if (op !== 'remove' && !('value' in operation)) throw invalidValue('patch.value_missing', `${where}: ${op} needs a value`);
    if (!pathText && (typeof operation.value !== 'object' || operation.value === null || Array.isArray(operation.value))) {
      throw invalidValue('patch.value_not_object', `${where}: without a path the value must be an object of attributes`);
    }
    return { op, path: pathText ? parsePath(pathText, index) : undefined, value: operation.value, index: i };
  });
}

export function parsePath(text: string, index: SchemaIndex): PatchPath {
  const extension = index.extensionId(text);
  if (extension) return { text, attribute: { schema: extension, attribute: '' }, extension };
  const bracket = text.indexOf('[');
  if (bracket < 0) return { text, attribute: attributePath(text) };
  const close = text.lastIndexOf(']');
  if (close < bracket) throw invalidPath('patch.path_brackets_unbalanced', `"${text}" is not a valid path`);
  const rest = text.slice(close + 1);
  if (rest !== '' && !/^\.[A-Za-z$][\w$-]*$/.test(rest)) throw invalidPath('patch.path_after_filter_invalid', `"${text}" is not a valid path`);
  let filter: Filter;
  try {
    filter = parseFilter(text.slice(bracket + 1, close));
  } catch (error) {
    throw invalidPath('patch.path_filter_invalid', `"${text}": ${(error as Error).message}`);
  }
  return { text, attribute: attributePath(text.slice(0, bracket)), filter, ...(rest ? { subAttribute: rest.slice(1) } : {}) };
}

function attributePath(text: string): AttributePath {
  const colon = text.lastIndexOf(':');
  const schema = colon >= 0 ? text.slice(0, colon) : undefined;
  const [attribute, subAttribute, extra] = text.slice(colon + 1).split('.');
  if (!attribute || extra !== undefined) throw invalidPath('patch.path_invalid', `"${text}" is not a valid path`);
  return { ...(schema ? { schema } : {}), attribute, ...(subAttribute ? { subAttribute } : {}) };
}

/**
 * Applies PATCH operations to a resource's SCIM JSON, in memory, in order, and returns
 * the resulting resource; the input is not modified. Attribute names match in any
 * case; boolean strings ("True") and the enterprise manager as a bare id are accepted.
 * The caller validates the result against the schema before anything is stored.
 */
export function applyPatch(resource: Json, operations: PatchOperation[], index: SchemaIndex): Json {
  const out = structuredClone(resource);
  for (const operation of operations) {
    if (operation.path) applyAtPath(out, operation.op, operation.path, operation.value, index);
    else applyObject(out, operation.op, operation.value as Json, index);
  }
  return out;
}

/** A path-less add/replace: each key (plain, dotted or URN-qualified) is applied as a path. */
function applyObject(resource: Json, op: PatchOpName, value: Json, index: SchemaIndex): void {
  for (const [key, item] of Object.entries(value)) {
    const extension = index.extensionId(key);
    if (extension && item && typeof item === 'object' && !Array.isArray(item)) {
      for (const [sub, subValue] of Object.entries(item as Json)) {
        applyAtPath(resource, op, { text: `${extension}:${sub}`, attribute: attributePath(`${extension}:${sub}`) }, subValue, index);
      }
      continue;
    }
    if (key.toLowerCase() === 'schemas' || key.toLowerCase() === 'id' || key.toLowerCase() === 'meta') continue;
    applyAtPath(resource, op, { text: key, attribute: attributePath(key) }, item, index);
  }
}

function containerOf(resource: Json, extension: string | undefined, create: boolean): Json | undefined {
  if (!extension) return resource;
  const key = findKey(resource, extension) ?? extension;
  if (resource[key] === undefined && create) resource[key] = {};
  const block = resource[key];
  return block && typeof block === 'object' ? (block as Json) : undefined;
}

function findKey(object: Json, name: string): string | undefined {
  const lower = name.toLowerCase();
  return Object.keys(object).find((k) => k.toLowerCase() === lower);
}

function setKey(object: Json, name: string, value: unknown): void {
  const existing = findKey(object, name);
  if (existing && existing !== name) delete object[existing];
  object[name] = value;
}

/** Where one operation lands: the attribute's block in the resource and what it holds now. */
interface Target {
  op: PatchOpName;
  path: PatchPath;
  rawValue: unknown;
  attribute: AttributeInfo;
  /** The block that holds the attribute: the resource, or its extension's block. */
  container: Json;
  /** The attribute's name as the schema spells it. */
  name: string;
  current: unknown;
}

function applyAtPath(resource: Json, op: PatchOpName, path: PatchPath, rawValue: unknown, index: SchemaIndex): void {
  if (path.extension) return applyToExtension(resource, op, path, path.extension, rawValue, index);
  const resolved = index.resolve(path.attribute);
  const attribute = resolved.attribute;
  // Read-only attributes are applied here and dropped (or refused, like mfaEnabled)
  // when the result is validated and authorized, as for a PUT.
  const container = containerOf(resource, resolved.extension, op !== 'remove');
  if (!container) return;
  const name = attribute.name;
  const target: Target = { op, path, rawValue, attribute, container, name, current: container[findKey(container, name) ?? name] };

  if (path.filter && !attribute.multiValued && attribute.type === 'complex') return applyToFilteredSingleValue(resource, target, index);
  if (path.filter) return applyToFilteredElements(target, path.filter);
  if (path.attribute.subAttribute !== undefined) return applyToSubAttribute(target, resolved.sub as AttributeInfo);
  if (op === 'remove') return removeAttribute(target);
  setAttribute(target);
}

/** A path that names a whole extension block: remove drops it, add and replace apply its attributes. */
function applyToExtension(resource: Json, op: PatchOpName, path: PatchPath, extension: string, rawValue: unknown, index: SchemaIndex): void {
  if (op === 'remove') {
    const key = findKey(resource, extension);
    if (key) delete resource[key];
    return;
  }
  if (!rawValue || typeof rawValue !== 'object' || Array.isArray(rawValue)) {
    throw invalidValue('patch.extension_value_not_object', `"${path.text}" takes an object of its attributes`);
  }
  applyObject(resource, op, { [extension]: rawValue }, index);
}

/** `manager[value eq "id"]` (sent by Entra): the single value, if the filter matches it. */
function applyToFilteredSingleValue(resource: Json, { op, path, rawValue, attribute, current }: Target, index: SchemaIndex): void {
  const object = current && typeof current === 'object' ? (current as Json) : undefined;
  if (!object || !matchesElement(object, path.filter as Filter, attribute)) {
    if (op === 'remove') return;
    throw noTarget('patch.no_match', `"${path.text}" matches no value`);
  }
  applyAtPath(
    resource,
    op,
    { text: path.text, attribute: { ...path.attribute, ...(path.subAttribute ? { subAttribute: path.subAttribute } : {}) } },
    rawValue,
    index,
  );
}

/** `emails[type eq "work"]` or `emails[type eq "work"].value`: the elements the filter matches. */
function applyToFilteredElements({ op, path, rawValue, attribute, container, name, current }: Target, filter: Filter): void {
  if (!attribute.multiValued) throw invalidPath('patch.filter_on_single_value', `"${path.text}": ${name} is not multi-valued`);
  const sub = path.subAttribute ? attribute.subAttributes.get(path.subAttribute.toLowerCase()) : undefined;
  if (path.subAttribute && !sub) throw invalidPath('patch.sub_attribute_unknown', `unknown attribute "${path.text}"`);
  const elements = Array.isArray(current) ? (current as Json[]) : [];
  const matched = elements.filter((e) => matchesElement(e, filter, attribute));
  if (op === 'remove') {
    if (sub) for (const e of matched) delete e[findKey(e, sub.name) ?? sub.name];
    else
      setKey(
        container,
        name,
        elements.filter((e) => !matched.includes(e)),
      );
    return;
  }
  const value = normalizeValue(rawValue, sub ?? { ...attribute, multiValued: false });
  if (matched.length === 0) {
    // add (and replace, as identity providers send it) on `emails[type eq "work"].value`
    // creates the element the filter describes when it is a plain conjunction of eq.
    const seed = seedFromFilter(filter);
    if (!seed) throw noTarget('patch.no_match_to_create', `"${path.text}" matches no value`);
    const element = sub ? { ...seed, [sub.name]: value } : { ...seed, ...(value as Json) };
    setKey(container, name, [...elements, element]);
    enforceSinglePrimary(container[name] as Json[], element);
    return;
  }
  for (const e of matched) {
    if (sub) {
      e[findKey(e, sub.name) ?? sub.name] = value;
      continue;
    }
    if (op === 'replace') for (const k of Object.keys(e)) delete e[k];
    Object.assign(e, value as Json);
  }
  enforceSinglePrimary(elements, matched[matched.length - 1]);
}

/** `name.givenName`, or `emails.value` without a filter, which addresses every element. */
function applyToSubAttribute({ op, rawValue, attribute, container, name, current }: Target, sub: AttributeInfo): void {
  if (attribute.multiValued) {
    const elements = Array.isArray(current) ? (current as Json[]) : [];
    if (op === 'remove') elements.forEach((e) => delete e[findKey(e, sub.name) ?? sub.name]);
    else elements.forEach((e) => (e[findKey(e, sub.name) ?? sub.name] = normalizeValue(rawValue, sub)));
    return;
  }
  const object = current && typeof current === 'object' ? (current as Json) : {};
  if (op === 'remove') delete object[findKey(object, sub.name) ?? sub.name];
  else setKey(object, sub.name, normalizeValue(rawValue, sub));
  setKey(container, name, object);
}

/** remove on a whole attribute; on a multi-valued one with a value, only the listed values. */
function removeAttribute({ rawValue, attribute, container, name, current }: Target): void {
  const key = findKey(container, name);
  if (!key) return;
  if (attribute.multiValued && Array.isArray(rawValue) && Array.isArray(current)) {
    // Remove only the listed values (how Entra removes group members and emails).
    const drop = new Set<unknown>(rawValue.map((v: unknown) => valueOf(v)).filter((v: unknown) => v !== undefined));
    container[key] = (current as Json[]).filter((e) => !drop.has(valueOf(e)));
    return;
  }
  delete container[key];
}

/**
 * add or replace on a whole attribute: add appends new values to a multi-valued one,
 * replace sets the list anew. On a single-valued complex attribute both merge: the
 * sub-attributes the value gives replace their values, the others are left unchanged
 * (RFC 7644 section 3.5.2.3).
 */
function setAttribute({ op, rawValue, attribute, container, name, current }: Target): void {
  const value = normalizeValue(rawValue, attribute);
  if (attribute.multiValued) {
    const incoming = (Array.isArray(value) ? value : [value]) as Json[];
    if (op === 'replace') {
      setKey(container, name, incoming);
    } else {
      const existing = Array.isArray(current) ? (current as Json[]) : [];
      const fresh = incoming.filter((v) => !existing.some((e) => sameValue(e, v)));
      setKey(container, name, [...existing, ...fresh]);
    }
    const list = container[name] as Json[];
    const primary = incoming.find((v) => v && typeof v === 'object' && v.primary === true);
    if (primary) enforceSinglePrimary(list, list.find((e) => sameValue(e, primary)) ?? primary);
    return;
  }
  if (attribute.type === 'complex' && value && typeof value === 'object' && !Array.isArray(value)) {
    const base = current && typeof current === 'object' && !Array.isArray(current) ? (current as Json) : {};
    setKey(container, name, { ...base, ...(value as Json) });
    return;
  }
  setKey(container, name, value);
}

function valueOf(v: unknown): unknown {
  if (v && typeof v === 'object') return (v as Json).value;
  return v;
}

function sameValue(a: unknown, b: unknown): boolean {
  const av = valueOf(a);
  const bv = valueOf(b);
  if (av !== undefined && bv !== undefined) return JSON.stringify(av) === JSON.stringify(bv) && typeOf(a) === typeOf(b);
  return JSON.stringify(a) === JSON.stringify(b);
}

function typeOf(v: unknown): unknown {
  return v && typeof v === 'object' ? (v as Json).type : undefined;
}

/** Only one element of a multi-valued attribute may be primary (RFC 7643 section 2.4). */
function enforceSinglePrimary(elements: Json[], chosen: Json): void {
  if (chosen.primary !== true) return;
  for (const e of elements) if (e !== chosen && e.primary === true) e.primary = false;
}

/** `type eq "work" and primary eq true` as `{type: "work", primary: true}`; undefined for other filters. */
function seedFromFilter(filter: Filter): Json | undefined {
  if (filter.kind === 'compare' && filter.op === 'eq' && !filter.path.subAttribute && !filter.path.schema) {
    return { [filter.path.attribute]: filter.value };
  }
  if (filter.kind === 'and') {
    const left = seedFromFilter(filter.left);
    const right = seedFromFilter(filter.right);
    return left && right ? { ...left, ...right } : undefined;
  }
  return undefined;
}
