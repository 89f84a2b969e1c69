import type { Group } from './group';
import type { User, UserFields } from './user';

/**
 * Provisioning events (RFC 9967, SCIM profile for Security Event Tokens), as the
 * transactional outbox stores them: every committed change to a user or group writes
 * its event in the transaction that makes it, so a refused or rolled-back change
 * writes none. Turning a stored event into a signed SET is another step's work.
 *
 * The URIs are spelled as issue #13 spells them (lower-case `scim`).
 */
export const EVENT_URIS = {
  createNotice: 'urn:ietf:params:scim:event:prov:create:notice',
  putNotice: 'urn:ietf:params:scim:event:prov:put:notice',
  patchNotice: 'urn:ietf:params:scim:event:prov:patch:notice',
  delete: 'urn:ietf:params:scim:event:prov:delete',
  activate: 'urn:ietf:params:scim:event:prov:activate',
  deactivate: 'urn:ietf:params:scim:event:prov:deactivate',
} as const;

export const ENTERPRISE_USER_URN = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const ROSTER_USER_URN = 'urn:ietf:params:scim:schemas:extension:roster:2.0:User';

/**
 * One committed change to one resource, and the events it raises (one SET may carry
 * several: a PATCH that disables a user is `patch:notice` and `deactivate`).
 *
 * `attributes` names what changed (for a create: `userName` and the attributes that
 * differ from their defaults), in SCIM's
 * attribute notation (RFC 7644 section 3.10): a core attribute by its plain name
 * (`active`, `emails`, `name`, `password`, `members`), an extension attribute by its
 * schema URN, a colon and its name
 * (`urn:ietf:params:scim:schemas:extension:roster:2.0:User:systemRole`). Sorted;
 * never a value.
 */
export interface DomainEvent {
  organizationId: string;
  resourceType: 'User' | 'Group';
  resourceId: string;
  eventUris: string[];
  attributes: string[];
  /** The id of the request that made the change (RFC 8417 `txn`), when known. */
  txn?: string;
}

/** An event as the outbox holds it: `id` increases in commit-write order. */
export interface StoredEvent extends DomainEvent {
  id: string;
  createdAt: Date;
  /**
   * Read for a receiver of the full form only: the user's SCIM resource (JSON text, the
   * attributes returned by default) as it stands when the event is sent; absent for
   * groups and for a user deleted since.
   */
  resource?: string;
}

/** How the client asked for a change: a PUT (`put:notice`) or a PATCH (`patch:notice`). */
export type ChangeMethod = 'put' | 'patch';

/** The user fields of the core User schema; every other field but `enterprise` is the Roster extension's. */
const CORE_USER_FIELDS = new Set<string>([
  'userName',
  'externalId',
  'name',
  'displayName',
  'nickName',
  'profileUrl',
  'title',
  'userType',
  'preferredLanguage',
  'locale',
  'timezone',
  'active',
  'emails',
  'phoneNumbers',
  'ims',
  'photos',
  'addresses',
  'entitlements',
  'roles',
  'x509Certificates',
  'password',
]);

/** The SCIM names of changed user fields; `enterprise` is named by the keys that differ between the two. */
export function userAttributeNames(fields: string[], before: UserFields['enterprise'] = null, after: UserFields['enterprise'] = null): string[] {
  const names = new Set<string>();
  for (const field of fields) {
    if (field === 'enterprise') {
      for (const key of new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])) {
        if (JSON.stringify(before?.[key]) !== JSON.stringify(after?.[key])) names.add(`${ENTERPRISE_USER_URN}:${key}`);
      }
    } else {
      names.add(CORE_USER_FIELDS.has(field) ? field : `${ROSTER_USER_URN}:${field}`);
    }
  }
  return [...names].sort();
}

const txnOf = (txn: string | undefined) => (txn !== undefined ? { txn } : {});

export function userCreated(user: User, fieldsSet: string[], txn?: string): DomainEvent {
  return {
    organizationId: user.organizationId,
    resourceType: 'User',
    resourceId: user.id,
    eventUris: [EVENT_URIS.createNotice],
    attributes: userAttributeNames(fieldsSet, null, user.enterprise),
    ...txnOf(txn),
  };
}

/**
 * The event of a change to a user: `put:notice` or `patch:notice` after how it was
 * asked, and `activate` or `deactivate` when `active` changed. None when nothing did.
 */
export function userUpdated(before: User, after: User, changed: string[], method: ChangeMethod, txn?: string): DomainEvent[] {
  const attributes = userAttributeNames(changed, before.enterprise, after.enterprise);
  if (attributes.length === 0) return [];
  const eventUris: string[] = [method === 'put' ? EVENT_URIS.putNotice : EVENT_URIS.patchNotice];
  if (before.active !== after.active) eventUris.push(after.active ? EVENT_URIS.activate : EVENT_URIS.deactivate);
  return [{ organizationId: after.organizationId, resourceType: 'User', resourceId: after.id, eventUris, attributes, ...txnOf(txn) }];
}

export function resourceDeleted(resource: User | Group, txn?: string): DomainEvent {
  return {
    organizationId: resource.organizationId,
    resourceType: 'userName' in resource ? 'User' : 'Group',
    resourceId: resource.id,
    eventUris: [EVENT_URIS.delete],
    attributes: [],
    ...txnOf(txn),
  };
}

/** A new group: `attributes` are those it was created with (`members` when it has any). */
export function groupCreated(group: Group, membersAdded: number, txn?: string): DomainEvent {
  const attributes = ['displayName', ...(group.externalId !== null ? ['externalId'] : []), ...(membersAdded > 0 ? ['members'] : [])];
  return {
    organizationId: group.organizationId,
    resourceType: 'Group',
    resourceId: group.id,
    eventUris: [EVENT_URIS.createNotice],
    attributes: attributes.sort(),
    ...txnOf(txn),
  };
}

/** A changed group: its changed attributes, `members` when a member was added or removed. None when nothing changed. */
export function groupUpdated(group: Group, changed: string[], membersChanged: boolean, method: ChangeMethod, txn?: string): DomainEvent[] {
  const attributes = [...changed, ...(membersChanged ? ['members'] : [])].sort();
  if (attributes.length === 0) return [];
  const eventUri = method === 'put' ? EVENT_URIS.putNotice : EVENT_URIS.patchNotice;
  return [{ organizationId: group.organizationId, resourceType: 'Group', resourceId: group.id, eventUris: [eventUri], attributes, ...txnOf(txn) }];
}

/** A user whose manager was deleted: their enterprise `manager` was removed (a `patch:notice`). */
export function managerUnlinked(user: User, txn?: string): DomainEvent {
  return {
    organizationId: user.organizationId,
    resourceType: 'User',
    resourceId: user.id,
    eventUris: [EVENT_URIS.patchNotice],
    attributes: [`${ENTERPRISE_USER_URN}:manager`],
    ...txnOf(txn),
  };
}

/**
 * A group that lost a member because the user was deleted: a `patch:notice` of
 * `members`, so a receiver keeping memberships hears of it from the group too.
 */
export function memberDeleted(organizationId: string, groupId: string, txn?: string): DomainEvent {
  return { organizationId, resourceType: 'Group', resourceId: groupId, eventUris: [EVENT_URIS.patchNotice], attributes: ['members'], ...txnOf(txn) };
}
