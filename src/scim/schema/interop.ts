import type { AttributeInfo, SchemaIndex } from './schema-index';
import { invalidPath, invalidSyntax } from '../http/errors';

type Json = Record<string, unknown>;

/**
 * Tolerance for what identity providers really send, applied before validation:
 * booleans as the strings "True"/"False" (Entra, Microsoft's test suite), the enterprise
 * `manager` as a bare id string, and attribute names in any case (`Active`).
 */
export function normalizeValue(value: unknown, attribute: AttributeInfo): unknown {
  if (attribute.multiValued && Array.isArray(value)) {
    return value.map((item) => normalizeValue(item, { ...attribute, multiValued: false }));
  }
  switch (attribute.type) {
    case 'boolean':
      if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
      return value;
    case 'complex':
      if (typeof value === 'string' && attribute.subAttributes.has('value') && !attribute.multiValued) {
        // `"manager": "26118915-…"`; an empty string (or `{"value": ""}`) clears it.
        return value.trim() === '' ? null : { value };
      }
      if (value && typeof value === 'object' && !Array.isArray(value) && !attribute.multiValued && attribute.subAttributes.has('value')) {
        const inner = (value as Json).value ?? (value as Json).Value;
        if (inner === '' && Object.keys(value as Json).length === 1) return null;
      }
      if (value && typeof value === 'object' && !Array.isArray(value)) return normalizeObject(value as Json, attribute.subAttributes);
      return value;
    case 'string':
      // `"api user"` for `Api User`: canonical values match in any case.
      if (typeof value === 'string' && attribute.canonicalValues) {
        return attribute.canonicalValues.find((c) => c.toLowerCase() === value.trim().toLowerCase()) ?? value;
      }
      return value;
    default:
      return value;
  }
}

function normalizeObject(object: Json, attributes: Map<string, AttributeInfo>): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(object)) {
    const attribute = attributes.get(key.toLowerCase());
    if (!attribute) {
      out[key] = value;
      continue;
    }
    out[attribute.name] = normalizeValue(value, attribute);
  }
  return out;
}

/** A whole resource body (POST, PUT): core attributes and extension blocks. */
export function normalizeResource(body: Json, index: SchemaIndex): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(body)) {
    const extension = index.extensionId(key);
    if (extension) {
      out[extension] = value && typeof value === 'object' && !Array.isArray(value) ? normalizeExtension(value as Json, extension, index) : value;
      continue;
    }
    let resolved;
    try {
      resolved = index.resolve({ attribute: key });
    } catch {
      out[key] = value;
      continue;
    }
    out[resolved.attribute.name] = normalizeValue(value, resolved.attribute);
  }
  return out;
}

function normalizeExtension(block: Json, extension: string, index: SchemaIndex): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(block)) {
    try {
      const { attribute } = index.resolve({ schema: extension, attribute: key });
      out[attribute.name] = normalizeValue(value, attribute);
    } catch {
      out[key] = value;
    }
  }
  return out;
}

/**
 * A body's URN-qualified attribute keys folded into the shape SCIM writes them in:
 * `"urn:…:roster:2.0:User:systemRole": "…"` becomes `systemRole` inside the Roster
 * extension block, and `"urn:…:core:2.0:User:userName"` becomes `userName`. A
 * path-less PATCH already reads such keys as paths; POST and PUT read them the same
 * way, so they reach the policy on every path instead of being dropped. An attribute
 * given both ways is refused: the request would say two things at once.
 */
export function foldQualifiedKeys(body: Json, index: SchemaIndex): Json {
  const out: Json = {};
  const qualified: [string, unknown][] = [];
  for (const [key, value] of Object.entries(body)) {
    const colon = key.lastIndexOf(':');
    if (colon > 0 && !index.extensionId(key) && qualifierOf(key.slice(0, colon), index) !== undefined) qualified.push([key, value]);
    else own(out, key, value);
  }
  for (const [key, value] of qualified) {
    const colon = key.lastIndexOf(':');
    const qualifier = qualifierOf(key.slice(0, colon), index) as string;
    // The name must be an attribute (or attribute.sub) of that schema: 400 invalidPath otherwise.
    const parts = key.slice(colon + 1).split('.');
    if (parts.length > 2 || parts.some((part) => part === '')) throw invalidPath('attribute.qualified_name_invalid', `"${key}" names no attribute`);
    const resolved = index.resolve({
      ...(qualifier === index.coreId ? {} : { schema: qualifier }),
      attribute: parts[0],
      ...(parts[1] !== undefined ? { subAttribute: parts[1] } : {}),
    });
    const attribute = resolved.attribute.name;
    const sub = resolved.sub?.name;
    let block: Json = out;
    if (qualifier !== index.coreId) {
      const blockKey = Object.keys(out).find((k) => k.toLowerCase() === qualifier.toLowerCase()) ?? qualifier;
      const existing = out[blockKey];
      if (existing !== undefined && (existing === null || typeof existing !== 'object' || Array.isArray(existing))) {
        throw invalidSyntax('attribute.schema_block_not_object', `"${blockKey}" must be an object of its attributes`);
      }
      block = { ...((existing as Json | undefined) ?? {}) };
      out[blockKey] = block;
    }
    const attributeKey = Object.keys(block).find((k) => k.toLowerCase() === attribute.toLowerCase());
    if (sub === undefined) {
      if (attributeKey !== undefined) throw givenTwice(key);
      block[attribute] = value;
      continue;
    }
    const parent = attributeKey === undefined ? {} : block[attributeKey];
    if (!parent || typeof parent !== 'object' || Array.isArray(parent)) throw givenTwice(key);
    if (Object.keys(parent).some((k) => k.toLowerCase() === sub.toLowerCase())) throw givenTwice(key);
    block[attributeKey ?? attribute] = { ...(parent as Json), [sub]: value };
  }
  return out;
}

/** Sets an own property, whatever its name: a `__proto__` key stays a key, as JSON.parse made it. */
function own(object: Json, key: string, value: unknown): void {
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
}

/** The schema a key's URN prefix names: the core schema or one of its extensions. */
function qualifierOf(urn: string, index: SchemaIndex): string | undefined {
  if (urn.toLowerCase() === index.coreId.toLowerCase()) return index.coreId;
  return index.extensionId(urn);
}

const givenTwice = (key: string) => invalidSyntax('attribute.given_twice', `"${key}" is given twice: once URN-qualified and once inside its schema's block`);
