/** A tenant. Users, groups and credentials belong to exactly one. */
export interface Organization {
  id: string;
  slug: string;
  name: string;
  createdAt: Date;
}

/** Licensed user limits per account type (null: unlimited) and license flags. */
export interface OrganizationLicense {
  standardUserLimit: number | null;
  apiUserLimit: number | null;
  taxiiUserLimit: number | null;
  readOnlyUserLimit: number | null;
  apiUsersAllowed: boolean;
  readOnlyUsersFree: boolean;
}

export const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
