import type { Group, GroupDraft, GroupMember } from '../domain/group';
import { badRequest, validated } from './errors';
import { GROUP_SCHEMA, SCIMMY } from './scimmy';
import { weakETag } from './user.mapper';

type Json = Record<string, unknown>;

/** Microsoft Entra ID sends this extra schema URI on groups; it carries no attributes. */
export const MICROSOFT_GROUP_SCHEMA = 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group';

/** A stored group as a SCIM Group resource; `members` undefined leaves the attribute out. */
export function toScimGroup(group: Group, members: GroupMember[] | undefined, baseUrl: string): Json {
  const out: Json = {
    schemas: [GROUP_SCHEMA],
    id: group.id,
    ...(group.externalId !== null ? { externalId: group.externalId } : {}),
    displayName: group.displayName,
  };
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
    version: weakETag(group.version),
  };
  return out;
}

/** A SCIM Group request body as the group the client wants (members: the whole membership). */
export function groupDraftFromScim(body: unknown): GroupDraft {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest('invalidSyntax', 'the request body must be a JSON object');
  }
  const raw = { ...(body as Json) };
  const schemas = Array.isArray(raw.schemas) ? (raw.schemas as unknown[]) : [];
  if (!schemas.some((s) => typeof s === 'string' && s.toLowerCase() === GROUP_SCHEMA.toLowerCase())) {
    throw badRequest('invalidSyntax', `schemas must include ${GROUP_SCHEMA}`);
  }
  raw.schemas = schemas.filter((s) => typeof s !== 'string' || s.toLowerCase() !== MICROSOFT_GROUP_SCHEMA.toLowerCase());
  const group = validated(() => JSON.parse(JSON.stringify(new SCIMMY.Schemas.Group(raw, 'in'))) as Json);
  const members = Array.isArray(group.members) ? (group.members as Json[]) : [];
  return {
    displayName: group.displayName as string,
    externalId: typeof group.externalId === 'string' ? group.externalId : null,
    members: members.map((m, i) => {
      if (typeof m.value !== 'string' || m.value === '') {
        throw badRequest('invalidValue', `members[${i}].value must be the id of a user`);
      }
      return m.value;
    }),
  };
}
