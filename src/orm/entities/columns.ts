/** Column definitions shared by the tables. */
import { schemasOf, type ResourceSpec, type Storage } from '../../schema/registry';

export const timestamps = {
  createdAt: { type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()' },
  updatedAt: { type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()' },
} as const;

export const uuidKey = { type: 'uuid', primary: true, defaultRaw: 'gen_random_uuid()' } as const;

/** A nullable text column. */
export const text = { type: 'text', nullable: true } as const;

/** A JSON array column, empty by default. */
export const jsonArray = { type: 'json', columnType: 'jsonb', defaultRaw: `'[]'::jsonb` } as const;

/**
 * The columns of a resource's table that hold its attributes, from the attribute
 * registry (src/schema): one property per column-stored attribute (and per part of
 * `name`), plus each extension kept whole in a jsonb column. The property is the
 * column's name in camelCase; the column is named explicitly.
 */
export function registryColumns(resource: ResourceSpec): Record<string, Record<string, unknown>> {
  const properties: Record<string, Record<string, unknown>> = {};
  const add = (storage: Storage) => {
    if (storage.kind !== 'column') return;
    const property = storage.column.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
    const type = storage.columnType === 'jsonb' ? { type: 'json', columnType: 'jsonb' } : { type: storage.columnType };
    const fallback =
      storage.default === undefined ? {} : storage.columnType === 'boolean' ? { default: storage.default === 'true' } : { defaultRaw: storage.default };
    properties[property] = { ...type, fieldName: storage.column, ...(storage.nullable ? { nullable: true } : {}), ...fallback };
  };
  for (const schema of schemasOf(resource)) {
    if (schema.jsonColumn) {
      properties[schema.jsonColumn] = { type: 'json', columnType: 'jsonb', fieldName: schema.jsonColumn, nullable: true };
      continue;
    }
    for (const attribute of schema.attributes) {
      add(attribute.storage);
      for (const sub of attribute.subAttributes) add(sub.storage);
    }
  }
  return properties;
}
