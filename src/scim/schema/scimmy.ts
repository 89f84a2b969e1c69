import SCIMMY from 'scimmy';
import { rosterUserExtension } from '../../extensions/roster-user';
import { BULK_MAX_OPERATIONS, BULK_MAX_PAYLOAD_BYTES, MAX_RESULTS } from '../http/limits';

export { ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA } from '../../schema/resources';
export const LIST_RESPONSE_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const PATCH_OP_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

let configured = false;

/**
 * An extension's definition among a schema's attributes (a SchemaDefinition, or the proxy
 * `extend` makes of one), told from an attribute by scimmy's own class. `D` is the caller's
 * view of a definition.
 */
export function isSchemaDefinition<D>(attribute: unknown): attribute is D {
  return attribute instanceof SCIMMY.Types.SchemaDefinition;
}

/**
 * scimmy keeps its schemas and service provider configuration in module state:
 * set them up once per process. Roster serves the HTTP side itself (see
 * docs/architecture.md); scimmy supplies the schema definitions (the core ones as
 * RFC 7643 writes them, Roster's built from the attribute registry), validation and
 * the discovery documents. PATCH is Roster's own (./patch).
 */
export function configureScimmy(): typeof SCIMMY {
  if (configured) return SCIMMY;
  SCIMMY.Resources.declare(SCIMMY.Resources.User.extend(SCIMMY.Schemas.EnterpriseUser, false).extend(rosterUserExtension as never, false));
  SCIMMY.Resources.declare(SCIMMY.Resources.Group);
  for (const definition of [SCIMMY.Schemas.User.definition, SCIMMY.Schemas.Group.definition]) {
    openCanonicalValues(definition as unknown as ScimmyDefinition, definition.id);
  }
  SCIMMY.Config.set({
    patch: true,
    filter: { supported: true, maxResults: MAX_RESULTS },
    sort: true,
    bulk: { supported: true, maxOperations: BULK_MAX_OPERATIONS, maxPayloadSize: BULK_MAX_PAYLOAD_BYTES },
    etag: true,
    changePassword: true,
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'OAuth Bearer Token',
        description: 'A provisioning token issued with `roster token create`, sent as `Authorization: Bearer <token>`.',
        primary: true,
      },
    ],
  });
  configured = true;
  return SCIMMY;
}

interface ScimmyAttribute {
  name: string;
  type: string;
  config: { multiValued?: boolean; mutable?: boolean | string; canonicalValues?: string[] | false };
  subAttributes?: ScimmyAttribute[];
}

interface ScimmyDefinition {
  id: string;
  attributes: (ScimmyAttribute | ScimmyDefinition)[];
}

/** Canonical values that are suggestions, by attribute (for the schema index) and by path (for /Schemas). */
const suggested = new WeakMap<object, string[]>();
const suggestedByPath = new Map<string, string[]>();
const pathKey = (schema: string, attribute: string, sub: string) => `${schema}#${attribute}.${sub}`.toLowerCase();

/**
 * RFC 7643 section 7 makes canonical values suggestions: `emails.type` may be
 * "pager", `roles.type` anything. scimmy refuses every other value, so the
 * sub-attributes of multi-valued attributes (`type`, mostly) stop enforcing theirs;
 * they are still advertised in /Schemas and still fix the letter case of a value that
 * is one of them. Single-valued attributes whose values DOMAIN.md fixes (the Roster
 * extension's roles) keep refusing the rest.
 */
function openCanonicalValues(definition: ScimmyDefinition, schemaId: string): void {
  for (const attribute of definition.attributes) {
    if (isSchemaDefinition<ScimmyDefinition>(attribute)) {
      openCanonicalValues(attribute, attribute.id);
      continue;
    }
    const a = attribute as ScimmyAttribute;
    if (a.type !== 'complex' || a.config.multiValued !== true) continue;
    for (const sub of a.subAttributes ?? []) {
      const values = sub.config.canonicalValues;
      if (!Array.isArray(values) || sub.config.mutable === false) continue;
      suggested.set(sub, values);
      suggestedByPath.set(pathKey(schemaId, a.name, sub.name), values);
      sub.config.canonicalValues = false;
    }
  }
}

/** An attribute's canonical values, whether scimmy enforces them or they are suggestions. */
export function canonicalValuesOf(attribute: { config: { canonicalValues?: unknown } }): string[] | undefined {
  const values = attribute.config.canonicalValues;
  return Array.isArray(values) ? (values as string[]) : suggested.get(attribute);
}

/** A /Schemas document with the suggested canonical values written back in. */
export function withSuggestedValues(schema: Record<string, unknown>): Record<string, unknown> {
  const attributes = Array.isArray(schema.attributes) ? (schema.attributes as Record<string, unknown>[]) : [];
  for (const attribute of attributes) {
    for (const sub of (attribute.subAttributes as Record<string, unknown>[] | undefined) ?? []) {
      const values = suggestedByPath.get(pathKey(String(schema.id), String(attribute.name), String(sub.name)));
      if (values && sub.canonicalValues === undefined) sub.canonicalValues = values;
    }
  }
  return schema;
}

export { SCIMMY };
