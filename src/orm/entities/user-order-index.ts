import { EntitySchema } from '@mikro-orm/core';
import type { OrganizationEntity } from './organization';

/*
 * The order-statistic index of an organization's users (orm/user-order.ts): how many
 * users each key range holds, in userName order and in creation order, so a page deep
 * in a list starts from a counted range instead of an OFFSET over every row before it.
 * Triggers on `users` append a delta per insert, delete or rename (writers never
 * contend on a counter); a background compaction folds deltas into the ranges and
 * splits ranges that grew too large.
 */
export interface UserOrderDeltaEntity {
  id: string;
  organizationId: string;
  /** lower(userName): the userName order's key. */
  nameKey: string;
  /** created_at then user id: the default order's key. */
  createdAt: Date;
  userId: string;
  /** +1 (a user entered) or -1 (a user left). */
  delta: number;
}

export const UserOrderDelta = new EntitySchema<UserOrderDeltaEntity>({
  name: 'UserOrderDelta',
  tableName: 'user_order_deltas',
  indexes: [{ name: 'user_order_deltas_organization_index', properties: ['organizationId'] }],
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true },
    organizationId: { type: 'uuid' },
    nameKey: { type: 'text' },
    createdAt: { type: 'Date', columnType: 'timestamptz' },
    userId: { type: 'uuid' },
    delta: { type: 'smallint' },
  },
});

export interface UserNameRangeEntity {
  organization: OrganizationEntity;
  /** The smallest lower(userName) of the range; '' for the first. */
  lowerBound: string;
  size: number;
  /** Users in the ranges before this one, as of the last compaction. */
  rowsBefore: number;
}

export const UserNameRange = new EntitySchema<UserNameRangeEntity>({
  name: 'UserNameRange',
  tableName: 'user_name_ranges',
  properties: {
    organization: { kind: 'm:1', entity: 'Organization', primary: true, deleteRule: 'cascade' },
    lowerBound: { type: 'text', primary: true },
    size: { type: 'integer' },
    rowsBefore: { type: 'integer', default: 0 },
  },
});

export interface UserCreatedRangeEntity {
  organization: OrganizationEntity;
  /** The smallest (created_at, id) of the range; (-infinity, nil uuid) for the first. */
  lowerCreatedAt: Date;
  lowerId: string;
  size: number;
  /** Users in the ranges before this one, as of the last compaction. */
  rowsBefore: number;
}

export const UserCreatedRange = new EntitySchema<UserCreatedRangeEntity>({
  name: 'UserCreatedRange',
  tableName: 'user_created_ranges',
  properties: {
    organization: { kind: 'm:1', entity: 'Organization', primary: true, deleteRule: 'cascade' },
    lowerCreatedAt: { type: 'Date', columnType: 'timestamptz', primary: true },
    lowerId: { type: 'uuid', primary: true },
    size: { type: 'integer' },
    rowsBefore: { type: 'integer', default: 0 },
  },
});
