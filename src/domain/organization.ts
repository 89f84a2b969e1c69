/** A tenant. Users, groups and credentials belong to exactly one. */
export interface Organization {
  id: string;
  slug: string;
  name: string;
  createdAt: Date;
}

export const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
