import { EntitySchema } from '@mikro-orm/core';
import { timestamps, uuidKey } from './columns';
import type { OrganizationEntity } from './organization';

export interface ApiCredentialEntity {
  id: string;
  organization: OrganizationEntity;
  name: string;
  secretHash: string;
  systemRole: string;
  organizationRole: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

export const ApiCredential = new EntitySchema<ApiCredentialEntity>({
  name: 'ApiCredential',
  tableName: 'api_credentials',
  properties: {
    id: uuidKey,
    organization: { kind: 'm:1', entity: 'Organization', deleteRule: 'cascade' },
    name: { type: 'text' },
    secretHash: { type: 'text', unique: 'api_credentials_secret_hash_unique' },
    systemRole: { type: 'text' },
    organizationRole: { type: 'text' },
    createdAt: timestamps.createdAt,
    lastUsedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    expiresAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    revokedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
  },
});
