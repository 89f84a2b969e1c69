import SCIMMY from 'scimmy';
import { isSchemaDefinition } from './scimmy';

type Json = Record<string, unknown>;

/** What this needs of a scimmy schema definition (`SCIMMY.Schemas.User.definition`, or an extension's). */
interface Definition {
  id: string;
  attributes: unknown[];
  coerce(data: Json, direction: 'in'): unknown;
}

interface Attribute {
  name: string;
  type: string;
  config: { returned?: unknown; mutable?: unknown };
  subAttributes?: Attribute[];
  coerce(value: unknown, direction: 'in'): unknown;
}

interface ExtensionShape {
  definition: Definition;
  id: string;
  required: boolean;
  /** Names never returned: the instance's JSON leaves them out. */
  hidden: string[];
  /** Names whose value the instance refuses to set twice when it is an object (not `mutable: true`). */
  fixed: string[];
}

/** What coerceInbound needs to know of a definition, worked out once per definition (and again if it is extended). */
interface Shape {
  size: number;
  /** Names of attributes never returned (`password`): scimmy's instance leaves them out of its JSON. */
  hidden: string[];
  /** Attributes whose coercion is not idempotent (numbers, dates, anywhere inside): the instance's second coercion can refuse them. */
  recoerced: Attribute[];
  extensions: ExtensionShape[];
}

const shapes = new WeakMap<Definition, Shape>();

const isDefinition = (a: unknown) => isSchemaDefinition<Definition & { required?: boolean }>(a);

const attributesOf = (attributes: unknown[]): Attribute[] => attributes.filter((a): a is Attribute => a instanceof SCIMMY.Types.Attribute);

const hiddenOf = (attributes: Attribute[]) => attributes.filter((a) => a.config?.returned === false || a.config?.returned === 'never').map((a) => a.name);

/** Number and date coercions can give a value that does not coerce again (`"1e21"` digits, `"2.0"` for a decimal). */
const notIdempotent = (a: Attribute): boolean =>
  a.type === 'integer' || a.type === 'decimal' || a.type === 'dateTime' || (a.subAttributes ?? []).some(notIdempotent);

function shapeOf(definition: Definition): Shape {
  let shape = shapes.get(definition);
  // scimmy's `extend` adds extensions to the definition in place: a shape made before that is made again.
  if (!shape || shape.size !== definition.attributes.length) {
    const core = attributesOf(definition.attributes);
    shape = {
      size: definition.attributes.length,
      hidden: hiddenOf(core),
      recoerced: core.filter(notIdempotent),
      extensions: definition.attributes.filter(isDefinition).map((e) => {
        const attributes = attributesOf(e.attributes);
        return {
          definition: e,
          id: e.id,
          required: e.required === true,
          hidden: hiddenOf(attributes),
          fixed: attributes.filter((a) => a.config?.mutable !== true).map((a) => a.name),
        };
      }),
    };
    shapes.set(definition, shape);
  }
  return shape;
}

/** scimmy's own `hasActualValues`, as it is (it throws on a null inside, as scimmy does). */
const hasActualValues = (target: object): boolean =>
  Object.values(target).some((v: unknown) => (typeof v === 'object' ? hasActualValues(v as object) : v !== undefined));

/** What the instance's property setters throw when a value does not coerce a second time. */
function asSetterError(error: unknown): never {
  throw new SCIMMY.Types.Error(400, 'invalidValue', error instanceof Error ? error.message : String(error));
}

/**
 * An inbound resource body validated by scimmy, as JSON: what
 * `JSON.parse(JSON.stringify(new SCIMMY.Schemas.User(data, 'in')))` gives (the same value,
 * the same errors; `test/unit/coerce.test.ts` checks both ways agree over bodies generated
 * from Roster's definitions and from one made to have every kind of attribute), at about
 * a third of its cost. The instance coerces the body once in its constructor, then again
 * through the property setters it defines for every attribute, and its JSON then leaves
 * out what is never returned. This coerces the body once (`definition.coerce`, scimmy's
 * own validation) and does again only what the second pass can change:
 * - attributes whose coercion is not idempotent (numbers, dates) are coerced again, and
 *   refused as the setters refuse them;
 * - each extension block is coerced again as a whole (the extension's setter does), is
 *   dropped with its URN when it holds no value, has its URN added to `schemas` when it
 *   does, and refuses an object value of an attribute that is not `mutable: true`
 *   (the setter's mutability check, which a re-coerced object never passes).
 * It was a fifth of a create's CPU in the server (docs/benchmarks.md, #16).
 */
export function coerceInbound(definition: Definition, data: Json): Json {
  const shape = shapeOf(definition);
  // What the instance's constructor checks before it coerces.
  const schemas = data.schemas;
  if (Array.isArray(schemas) && schemas.length > 0) {
    if (!schemas.includes(definition.id)) {
      throw new SCIMMY.Types.Error(400, 'invalidSyntax', 'The request body supplied a schema type that is incompatible with this resource');
    }
    for (const extension of shape.extensions) {
      if (extension.required && !schemas.includes(extension.id)) {
        throw new SCIMMY.Types.Error(400, 'invalidValue', `The request body is missing schema extension '${extension.id}' required by this resource type`);
      }
    }
  }
  const coerced = definition.coerce(data, 'in') as Json;
  // The setters' pass, in the order the instance assigns: core attributes, then extensions.
  for (const attribute of shape.recoerced) {
    if (coerced[attribute.name] === undefined) continue;
    try {
      attribute.coerce(coerced[attribute.name], 'in');
    } catch (error) {
      asSetterError(error);
    }
  }
  const empty = new Set<string>();
  for (const extension of shape.extensions) {
    const block = coerced[extension.id] as Json | undefined;
    if (block === undefined) continue;
    if (!hasActualValues(block)) {
      empty.add(extension.id);
      continue;
    }
    try {
      extension.definition.coerce(block, 'in');
    } catch (error) {
      asSetterError(error);
    }
    for (const name of extension.fixed) {
      const held = block[name];
      // An empty one is cleared by the setter's getter before it is set again: no refusal. The refusal is re-thrown by the extension's setter as `invalidValue`.
      if (typeof held === 'object' && held !== null && hasActualValues(held)) {
        throw new SCIMMY.Types.Error(400, 'invalidValue', `Attribute '${name}' already defined and is not mutable`);
      }
    }
  }
  const value = JSON.parse(JSON.stringify(coerced)) as Json;
  for (const name of shape.hidden) delete value[name];
  for (const extension of shape.extensions) {
    if (!(extension.id in value)) continue;
    const list = Array.isArray(value.schemas) ? (value.schemas as unknown[]) : [];
    if (empty.has(extension.id)) {
      // The instance drops an extension with nothing in it, and its URN from `schemas`.
      delete value[extension.id];
      value.schemas = list.filter((id) => id !== extension.id);
      continue;
    }
    if (!list.includes(extension.id)) value.schemas = [...list, extension.id];
    // It keeps the block, less what is never returned (even if nothing is left of it).
    const block = value[extension.id] as Json;
    for (const name of extension.hidden) delete block[name];
  }
  return value;
}
