import type { AttributeInfo, SchemaIndex } from './schema-index';

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
      out[extension] =
        value && typeof value === 'object' && !Array.isArray(value) ? normalizeExtension(value as Json, extension, index) : value;
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
