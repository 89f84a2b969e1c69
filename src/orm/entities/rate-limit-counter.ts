import { EntitySchema } from '@mikro-orm/core';

/**
 * Rate-limit counters shared by every instance (ROSTER_RATE_LIMIT_STORE=postgres):
 * rate-limiter-flexible's RateLimiterPostgres table, one row per key (a credential's
 * requests, an address's failed authentications) with the points taken in the current
 * window and when it ends (ms since the epoch).
 */
export interface RateLimitCounterEntity {
  key: string;
  points: number;
  expire: string | null;
}

export const RateLimitCounter = new EntitySchema<RateLimitCounterEntity>({
  name: 'RateLimitCounter',
  tableName: 'rate_limit_counters',
  properties: {
    key: { type: 'string', columnType: 'varchar(255)', primary: true },
    points: { type: 'integer', default: 0 },
    expire: { type: 'bigint', nullable: true },
  },
});
