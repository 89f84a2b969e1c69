import type { Filter } from '../../domain/filter';
import type { MembershipChange } from '../../domain/group';
import { invalidPath, invalidValue } from '../http/errors';
import type { PatchOperation } from './patch';
import { GROUP_SCHEMA } from '../schema/scimmy';

type Json = Record<string, unknown>;

/** Member ids from what clients send: `[{"value": id}]`, `{"value": id}`, `"id"` or `["id"]`. */
export function memberIds(value: unknown, where: string): string[] {
  const items = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  return items.map((item, i) => {
    const id = item && typeof item === 'object' ? ((item as Json).value ?? (item as Json).Value) : item;
    if (typeof id !== 'string' || id.trim() === '') {
      throw invalidValue('group.member_id_missing', `${where}: member ${i + 1} must carry the id of a user in "value"`);
    }
    return id.trim();
  });
}

const isMembers = (name: string | undefined) => name?.toLowerCase() === 'members';

/** The ids of `value eq "a" or value eq "b"`, or undefined for any other filter. */
function idsOf(filter: Filter): string[] | undefined {
  if (
    filter.kind === 'compare' &&
    filter.op === 'eq' &&
    filter.path.attribute.toLowerCase() === 'value' &&
    !filter.path.subAttribute &&
    typeof filter.value === 'string'
  ) {
    return [filter.value];
  }
  if (filter.kind === 'or') {
    const left = idsOf(filter.left);
    const right = idsOf(filter.right);
    return left && right ? [...left, ...right] : undefined;
  }
  return undefined;
}

/** A Group PATCH split in two: membership changes, and the operations on the rest of the group. */
export interface GroupPatchPlan {
  /** Written as row inserts and deletes, in order, whatever the stored membership. */
  membership: MembershipChange[];
  /** The operations on displayName, externalId...: applied in memory to the group's SCIM form. */
  rest: PatchOperation[];
}

/**
 * Splits a Group PATCH into membership changes (written as row inserts and deletes,
 * never loading the membership) and the operations on the rest (displayName,
 * externalId), which need the group as stored. Each operation touches one side or the
 * other (a path-less one is cut in two), so applying both sides keeps its meaning.
 * Needs no stored state: a PATCH with no `rest` changes members only.
 */
export function splitGroupPatch(operations: PatchOperation[]): GroupPatchPlan {
  const membership: MembershipChange[] = [];
  const rest: PatchOperation[] = [];
  for (const operation of operations) {
    const where = `operation ${operation.index + 1}`;
    const path = operation.path;
    const core = !path?.attribute.schema || path.attribute.schema.toLowerCase() === GROUP_SCHEMA.toLowerCase();
    if (path && !path.extension && core && isMembers(path.attribute.attribute)) {
      if (path.attribute.subAttribute || path.subAttribute) {
        if (operation.op === 'remove') throw invalidPath('group.member_sub_attribute_remove', `${where}: remove whole members, not a sub-attribute`);
        continue; // members' display and type are read-only: ignored on input
      }
      if (path.filter) {
        // `members[value eq "id"]` (Okta) is a delete by key; other filters go through SQL.
        const ids = idsOf(path.filter);
        membership.push(ids ? { kind: 'remove', userIds: ids } : { kind: 'removeMatching', filter: path.filter });
        if (operation.op !== 'remove') membership.push({ kind: 'add', userIds: memberIds(operation.value, where) });
        continue;
      }
      if (operation.op === 'add') membership.push({ kind: 'add', userIds: memberIds(operation.value, where) });
      else if (operation.op === 'replace') membership.push({ kind: 'replace', userIds: memberIds(operation.value, where) });
      else if (operation.value === undefined) membership.push({ kind: 'replace', userIds: [] });
      else membership.push({ kind: 'remove', userIds: memberIds(operation.value, where) });
      continue;
    }
    if (!path) {
      const value = { ...(operation.value as Json) };
      const key = Object.keys(value).find((k) => isMembers(k));
      if (key !== undefined) {
        const ids = memberIds(value[key], where);
        membership.push({ kind: operation.op === 'replace' ? 'replace' : 'add', userIds: ids });
        delete value[key];
      }
      if (Object.keys(value).length > 0) rest.push({ ...operation, value });
      continue;
    }
    rest.push(operation);
  }
  return { membership, rest };
}
