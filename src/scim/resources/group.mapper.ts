import type { Group, GroupDraft, GroupMember } from '../../domain/group';
import { invalidSyntax, validated } from '../http/errors';
import { memberIds } from '../patch/group-patch';
import { foldQualifiedKeys, normalizeResource } from '../schema/interop';
import { coerceInbound } from '../schema/coerce';
import { groupSchemaIndex } from '../schema/schema-index';
import { GROUP_RESOURCE } from '../../schema/resources';
import { GROUP_SCHEMA, SCIMMY } from '../schema/scimmy';
import { etagOf } from '../http/http';
import { hasKey } from './user.mapper';

type Json = Record<string, unknown>;

/** Microsoft Entra ID sends this extra schema URI on groups; it carries no attributes. */
export const MICROSOFT_GROUP_SCHEMA = 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group';

/** The group's attributes kept in a column of their own (externalId, displayName), from the attribute registry. */
const GROUP_COLUMNS = GROUP_RESOURCE.core.attributes.filter((a) => a.storage.kind === 'column' && a.returned === 'default').map((a) => a.name);

/** A stored group as a SCIM Group resource; `members` undefined leaves the attribute out. */
export function toScimGroup(group: Group, members: GroupMember[] | undefined, baseUrl: string): Json {
  const out: Json = { schemas: [GROUP_SCHEMA], id: group.id };
  for (const name of GROUP_COLUMNS) {
    const value = (group as unknown as Json)[name];
    if (value !== null && value !== undefined) out[name] = value;
  }
  if (members && members.length > 0) {
    out.members = members.map((m) => ({
      value: m.userId,
      $ref: `${baseUrl}/Users/${m.userId}`,
      ...(m.display !== null ? { display: m.display } : {}),
      type: 'User',
    }));
  }
  out.meta = {
    resourceType: 'Group',
    created: group.createdAt.toISOString(),
    lastModified: group.updatedAt.toISOString(),
    location: `${baseUrl}/Groups/${group.id}`,
    version: etagOf(group.version),
  };
  return out;
}

/**
 * A SCIM Group request body (POST, PUT) as the group the client wants: the members it
 * lists become the whole membership, written as the difference to what is stored.
 * `complete` says the body is a whole resource (a PATCH result), where a missing
 * `externalId` was removed rather than left out.
 */
export function groupDraftFromScim(body: unknown, options: { complete?: boolean } = {}): GroupDraft {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw invalidSyntax('group.body_not_object', 'the request body must be a JSON object');
  }
  const raw = foldQualifiedKeys(body as Json, groupSchemaIndex());
  const schemas = Array.isArray(raw.schemas) ? (raw.schemas as unknown[]) : [];
  if (!schemas.some((s) => typeof s === 'string' && s.toLowerCase() === GROUP_SCHEMA.toLowerCase())) {
    throw invalidSyntax('group.schemas_invalid', `schemas must include ${GROUP_SCHEMA}`);
  }
  raw.schemas = schemas.filter((s) => typeof s !== 'string' || s.toLowerCase() !== MICROSOFT_GROUP_SCHEMA.toLowerCase());
  const normalized = normalizeResource(raw, groupSchemaIndex());
  const membersKey = Object.keys(normalized).find((k) => k.toLowerCase() === 'members');
  const userIds = membersKey === undefined ? [] : memberIds(normalized[membersKey], 'members');
  if (membersKey !== undefined) delete normalized[membersKey];
  const group = validated('group.schema_invalid', () => coerceInbound(SCIMMY.Schemas.Group.definition, normalized));
  return {
    displayName: group.displayName as string,
    // Absent `externalId` keeps the stored link; `null` (or its removal by PATCH) clears it.
    ...(options.complete === true || hasKey(raw, 'externalId') ? { externalId: typeof group.externalId === 'string' ? group.externalId : null } : {}),
    membership: [{ kind: 'replace', userIds }],
  };
}
