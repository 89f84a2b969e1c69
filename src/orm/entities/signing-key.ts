import { EntitySchema } from '@mikro-orm/core';
import { timestamps } from './columns';

/**
 * The keys Roster signs its Security Event Tokens with (src/events/). At most one is
 * active (retired_at null); a retired key stays published in the JWKS until
 * expires_at. The private key is stored as a JWK in clear: whoever can read this
 * table can sign events as Roster (docs/architecture.md, "Security events").
 */
export interface SigningKeyEntity {
  kid: string;
  algorithm: string;
  privateJwk: unknown;
  publicJwk: unknown;
  createdAt: Date;
  retiredAt: Date | null;
  expiresAt: Date | null;
}

export const SigningKey = new EntitySchema<SigningKeyEntity>({
  name: 'SigningKey',
  tableName: 'signing_keys',
  uniques: [
    {
      // One active key: a second insert while one is active conflicts (ensureActive's `on conflict do nothing`).
      name: 'signing_keys_one_active_unique',
      expression: 'create unique index "signing_keys_one_active_unique" on "signing_keys" ((true)) where "retired_at" is null',
    },
  ],
  properties: {
    kid: { type: 'text', primary: true },
    algorithm: { type: 'text', default: 'ES256' },
    privateJwk: { type: 'json', columnType: 'jsonb', fieldName: 'private_jwk' },
    publicJwk: { type: 'json', columnType: 'jsonb', fieldName: 'public_jwk' },
    createdAt: timestamps.createdAt,
    retiredAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    expiresAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
  },
});
