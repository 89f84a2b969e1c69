import type { AttributePath } from '../../domain/filter';
import { invalidPath } from '../http/errors';
import { canonicalValuesOf, isSchemaDefinition, SCIMMY } from './scimmy';

/** What Roster needs to know of one attribute of a schema, read from scimmy's definitions. */
export interface AttributeInfo {
  name: string;
  type: string;
  multiValued: boolean;
  caseExact: boolean;
  /** readOnly attributes are ignored on input. */
  readOnly: boolean;
  /** The canonical spellings, for attributes that have them (roles). */
  canonicalValues?: string[];
  subAttributes: Map<string, AttributeInfo>;
}

/** The resolved target of an attribute path: the block holding it, the attribute and maybe a sub-attribute. */
export interface ResolvedPath {
  /** undefined for the core schema, else the extension URN (its block in the resource). */
  extension?: string;
  attribute: AttributeInfo;
  sub?: AttributeInfo;
}

interface ScimmyAttribute {
  name: string;
  type: string;
  config: { multiValued?: boolean; caseExact?: boolean; mutable?: boolean | string; canonicalValues?: string[] | false };
  subAttributes?: ScimmyAttribute[];
}

interface ScimmyDefinition {
  id: string;
  attributes: (ScimmyAttribute | ScimmyDefinition)[];
}

const isDefinition = (a: ScimmyAttribute | ScimmyDefinition) => isSchemaDefinition<ScimmyDefinition>(a);

function info(attribute: ScimmyAttribute): AttributeInfo {
  return {
    name: attribute.name,
    type: attribute.type,
    multiValued: attribute.config.multiValued === true,
    caseExact: attribute.config.caseExact === true,
    readOnly: attribute.config.mutable === false,
    ...(canonicalValuesOf(attribute) ? { canonicalValues: canonicalValuesOf(attribute) } : {}),
    subAttributes: new Map((attribute.subAttributes ?? []).map((s) => [s.name.toLowerCase(), info(s)])),
  };
}

/**
 * A case-insensitive index of one resource type's schema and its extensions, built
 * from the same scimmy definitions that validate requests and feed /Schemas.
 */
export class SchemaIndex {
  readonly coreId: string;
  private readonly core = new Map<string, AttributeInfo>();
  private readonly extensions = new Map<string, { id: string; attributes: Map<string, AttributeInfo> }>();

  constructor(definition: ScimmyDefinition) {
    this.coreId = definition.id;
    for (const item of definition.attributes) {
      if (isDefinition(item)) {
        const attributes = new Map<string, AttributeInfo>();
        for (const a of item.attributes) if (!isDefinition(a)) attributes.set(a.name.toLowerCase(), info(a));
        this.extensions.set(item.id.toLowerCase(), { id: item.id, attributes });
      } else {
        this.core.set(item.name.toLowerCase(), info(item));
      }
    }
  }

  /** The canonical URN of an extension of this resource type, if it is one. */
  extensionId(urn: string): string | undefined {
    return this.extensions.get(urn.toLowerCase())?.id;
  }

  /** Resolves a path, case-insensitively; throws 400 invalidPath when it names nothing. */
  resolve(path: AttributePath): ResolvedPath {
    let extension: string | undefined;
    let attributes = this.core;
    if (path.schema && path.schema.toLowerCase() !== this.coreId.toLowerCase()) {
      const found = this.extensions.get(path.schema.toLowerCase());
      if (!found) throw invalidPath('attribute.schema_unknown', `unknown schema "${path.schema}"`);
      extension = found.id;
      attributes = found.attributes;
    }
    const attribute = attributes.get(path.attribute.toLowerCase());
    if (!attribute) throw invalidPath('attribute.unknown', `unknown attribute "${describe(path)}"`);
    if (path.subAttribute === undefined) return { extension, attribute };
    const sub = attribute.subAttributes.get(path.subAttribute.toLowerCase());
    if (!sub) throw invalidPath('attribute.sub_attribute_unknown', `unknown attribute "${describe(path)}"`);
    return { extension, attribute, sub };
  }
}

export function describe(path: AttributePath): string {
  const name = path.subAttribute ? `${path.attribute}.${path.subAttribute}` : path.attribute;
  return path.schema ? `${path.schema}:${name}` : name;
}

let userIndex: SchemaIndex | undefined;
let groupIndex: SchemaIndex | undefined;

export function userSchemaIndex(): SchemaIndex {
  return (userIndex ??= new SchemaIndex(SCIMMY.Schemas.User.definition as unknown as ScimmyDefinition));
}

export function groupSchemaIndex(): SchemaIndex {
  return (groupIndex ??= new SchemaIndex(SCIMMY.Schemas.Group.definition as unknown as ScimmyDefinition));
}
