import { EntitySchema } from '@mikro-orm/core';
import { timestamps } from './columns';

export interface InstanceSettingEntity {
  key: string;
  value: unknown;
  updatedAt: Date;
}

/** Instance settings, one row per key; a missing key has its default (see domain/settings.ts). */
export const InstanceSetting = new EntitySchema<InstanceSettingEntity>({
  name: 'InstanceSetting',
  tableName: 'instance_settings',
  properties: {
    key: { type: 'text', primary: true },
    value: { type: 'json', columnType: 'jsonb' },
    updatedAt: timestamps.updatedAt,
  },
});
