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

export interface GroupDraft {
  displayName: string;
  externalId?: string | null;
  /** The whole membership wanted; undefined leaves it as it is. */
  members?: string[];
}
