import type { Filter } from './filter';

/** A user group of one organization; SCIM Groups are these. Members are users. */
export interface Group {
  id: string;
  organizationId: string;
  displayName: string;
  externalId: string | null;
  createdAt: Date;
  updatedAt: Date;
  version: number;
}

export interface GroupMember {
  userId: string;
  display: string | null;
}

/**
 * One change to a group's membership. Changes are written as row inserts and deletes;
 * none of them needs the whole membership in memory.
 */
export type MembershipChange =
  | { kind: 'add'; userIds: string[] }
  | { kind: 'remove'; userIds: string[] }
  /** The membership becomes exactly these users. */
  | { kind: 'replace'; userIds: string[] }
  /** Removes the members an element filter selects (`members[value eq "..."]`). */
  | { kind: 'removeMatching'; filter: Filter };

/** A group as a client wants it; what is left undefined keeps its stored value (a new group needs a displayName). */
export interface GroupDraft {
  displayName?: string;
  externalId?: string | null;
  /** Applied in order; undefined or empty leaves the membership as it is. */
  membership?: MembershipChange[];
}
