/**
 * The keys Roster signs its Security Event Tokens with (RFC 8417, RFC 9967). The
 * domain only names the record and the store; making keys and signing (a JOSE
 * library) live in src/events/, the SQL in src/orm/.
 */

/** A key as JWK members (RFC 7517): plain JSON. */
export type Jwk = Record<string, unknown>;

export interface SigningKey {
  kid: string;
  algorithm: 'ES256';
  /**
   * The private key (with `d`): never leaves the process except to sign. As stored, it
   * may be sealed (`{ "sealed": "<compact JWE>" }`, when ROSTER_SIGNING_KEY_SECRET is set);
   * SigningKeys.active() opens it.
   */
  privateJwk: Jwk;
  /** The public key, as published in the JWKS. */
  publicJwk: Jwk;
  createdAt: Date;
  /** When it stopped signing; null for the active key. */
  retiredAt: Date | null;
  /** When a retired key leaves the JWKS; null for the active key. */
  expiresAt: Date | null;
}

export type NewSigningKey = Pick<SigningKey, 'kid' | 'algorithm' | 'privateJwk' | 'publicJwk'>;

export interface SigningKeyStore {
  /** The key that signs (at most one). */
  active(): Promise<SigningKey | null>;
  /** Every key, newest first. */
  list(): Promise<SigningKey[]>;
  /** The keys a verifier may need at `at`: the active one and retired ones not yet expired, newest first. */
  published(at: Date): Promise<SigningKey[]>;
  /** Stores the key as the active one unless a key is already active (then nothing); true when stored. Safe between instances. */
  insertIfNoneActive(key: NewSigningKey): Promise<boolean>;
  /**
   * In one transaction: the active key (if any) is retired now and expires after
   * `retireAfterDays`, and `key` becomes the active one. Concurrent rotations run one
   * after the other. Returns the key retired, if any.
   */
  rotate(key: NewSigningKey, retireAfterDays: number): Promise<SigningKey | null>;
  /** Replaces a key's stored private half (to seal a key stored unencrypted); true when the key exists. */
  replacePrivate(kid: string, privateJwk: Jwk): Promise<boolean>;
}
