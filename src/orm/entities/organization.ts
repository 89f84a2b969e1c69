import { EntitySchema } from '@mikro-orm/core';
import { timestamps, uuidKey } from './columns';

/** An organization (a tenant) and its license limits. */
export interface OrganizationEntity {
  id: string;
  slug: string;
  name: string;
  /** License limits per account type; null means unlimited. */
  standardUserLimit: number | null;
  apiUserLimit: number | null;
  taxiiUserLimit: number | null;
  readOnlyUserLimit: number | null;
  apiUsersAllowed: boolean;
  readOnlyUsersFree: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export const Organization = new EntitySchema<OrganizationEntity>({
  name: 'Organization',
  tableName: 'organizations',
  properties: {
    id: uuidKey,
    slug: { type: 'text', unique: 'organizations_slug_unique' },
    name: { type: 'text' },
    standardUserLimit: { type: 'integer', nullable: true },
    apiUserLimit: { type: 'integer', nullable: true },
    taxiiUserLimit: { type: 'integer', nullable: true },
    readOnlyUserLimit: { type: 'integer', nullable: true },
    apiUsersAllowed: { type: 'boolean', default: true },
    readOnlyUsersFree: { type: 'boolean', default: false },
    ...timestamps,
  },
});
