import { EntitySchema } from '@mikro-orm/core';
import type { OrganizationEntity } from './organization';

/*
 * How many users of each account type an organization has, for license checks
 * (domain/license.ts) that must not count a million rows on every create. Kept like
 * the order-statistic index: triggers on `users` append a delta per statement and
 * account type (writers never contend on a counter row), a background compaction
 * folds the deltas into `user_account_counts`; a reader adds the pending deltas.
 */
export interface UserAccountCountEntity {
  organization: OrganizationEntity;
  /** domain/roles.ts accountTypeOf: standard, api, taxii or readOnly. */
  accountType: string;
  /** Users of this type as of the last compaction. */
  users: number;
}

export const UserAccountCount = new EntitySchema<UserAccountCountEntity>({
  name: 'UserAccountCount',
  tableName: 'user_account_counts',
  properties: {
    organization: { kind: 'm:1', entity: 'Organization', primary: true, deleteRule: 'cascade' },
    accountType: { type: 'text', primary: true },
    users: { type: 'integer' },
  },
});

export interface UserAccountDeltaEntity {
  id: string;
  organizationId: string;
  accountType: string;
  /** Users of this type that one statement added (positive) or removed (negative). */
  delta: number;
}

export const UserAccountDelta = new EntitySchema<UserAccountDeltaEntity>({
  name: 'UserAccountDelta',
  tableName: 'user_account_deltas',
  indexes: [{ name: 'user_account_deltas_organization_type_index', properties: ['organizationId', 'accountType'] }],
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true },
    organizationId: { type: 'uuid' },
    accountType: { type: 'text' },
    delta: { type: 'integer' },
  },
});
