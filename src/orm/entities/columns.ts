/** Column definitions shared by the tables. */

export const timestamps = {
  createdAt: { type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()' },
  updatedAt: { type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()' },
} as const;

export const uuidKey = { type: 'uuid', primary: true, defaultRaw: 'gen_random_uuid()' } as const;

/** A nullable text column. */
export const text = { type: 'text', nullable: true } as const;

/** A JSON array column, empty by default. */
export const jsonArray = { type: 'json', columnType: 'jsonb', defaultRaw: `'[]'::jsonb` } as const;
