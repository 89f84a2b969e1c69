import SCIMMY from 'scimmy';
import type { AttributeDefinition } from '../schema/registry';
import { ROSTER_EXTENSION, ROSTER_USER_SCHEMA } from '../schema/resources';

export { ROSTER_USER_SCHEMA };

const { Attribute, SchemaDefinition } = SCIMMY.Types;

/** scimmy's spelling of a registry entry's characteristics (its `mutable` and `returned`). */
export function scimmyConfig(definition: AttributeDefinition): Record<string, unknown> {
  const mutable = { readWrite: true, readOnly: false, immutable: 'immutable', writeOnly: 'writeOnly' }[definition.mutability];
  const returned = { default: true, never: false, always: 'always', request: 'request' }[definition.returned];
  return {
    multiValued: definition.multiValued,
    mutable,
    returned,
    required: definition.required,
    caseExact: definition.caseExact,
    uniqueness: definition.uniqueness,
    ...(definition.canonicalValues && definition.canonicalValues.length > 0 ? { canonicalValues: [...definition.canonicalValues] } : {}),
    ...(definition.referenceTypes ? { referenceTypes: [...definition.referenceTypes] } : {}),
    ...(definition.description ? { description: definition.description } : {}),
  };
}

function scimmyAttribute(definition: AttributeDefinition): InstanceType<typeof Attribute> {
  const subAttributes = definition.subAttributes.map(scimmyAttribute);
  return new Attribute(definition.type, definition.name, scimmyConfig(definition) as never, subAttributes.length > 0 ? subAttributes : undefined);
}

/**
 * Roster's User extension: the platform's account settings (roles, query timeout,
 * lock, MFA and terms flags, API-user settings), as scimmy's schema definition, built
 * from the attribute registry (src/schema/resources.ts): it validates requests and is
 * what /Schemas shows.
 */
export const rosterUserExtension = new SchemaDefinition(
  ROSTER_EXTENSION.name,
  ROSTER_EXTENSION.id,
  ROSTER_EXTENSION.description,
  ROSTER_EXTENSION.attributes.map(scimmyAttribute),
);
