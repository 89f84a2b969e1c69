import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK, type KeyLike } from 'jose';
import type { NewSigningKey, SigningKey, SigningKeyStore } from '../domain/signing';

export const SIGNING_ALGORITHM = 'ES256';

/** The members of an EC public key a JWKS carries: never `d`, whatever the stored JWK holds. */
const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'y'] as const;

/** A JWK Set (RFC 7517 section 5). */
export interface Jwks {
  keys: JWK[];
}

/** A fresh ES256 key pair; its kid is the RFC 7638 thumbprint of the public key. */
export async function generateSigningKey(): Promise<NewSigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALGORITHM, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const privateJwk = await exportJWK(privateKey);
  return {
    kid,
    algorithm: SIGNING_ALGORITHM,
    privateJwk: { ...privateJwk, kid, alg: SIGNING_ALGORITHM, use: 'sig' },
    publicJwk: { ...publicJwk, kid, alg: SIGNING_ALGORITHM, use: 'sig' },
  };
}

/** The public half of a key as a JWKS member: kty, crv, x, y, kid, alg, use. */
export function publicJwk(key: SigningKey): JWK {
  const jwk: Record<string, string> = {};
  for (const member of PUBLIC_MEMBERS) {
    const value = key.publicJwk[member];
    if (typeof value !== 'string') throw new Error(`signing key ${key.kid} has no public member ${member}`);
    jwk[member] = value;
  }
  return { ...jwk, kty: jwk.kty, kid: key.kid, alg: key.algorithm, use: 'sig' };
}

/** Roster's signing keys: the active one made on first start, rotation, and the JWKS. */
export class SigningKeys {
  constructor(private readonly store: SigningKeyStore) {}

  /** The active key, made and stored first when there is none (two instances starting together keep one). */
  async ensureActive(): Promise<SigningKey> {
    const active = await this.store.active();
    if (active) return active;
    await this.store.insertIfNoneActive(await generateSigningKey());
    const stored = await this.store.active();
    if (!stored) throw new Error('no active signing key after storing one');
    return stored;
  }

  async active(): Promise<SigningKey | null> {
    return this.store.active();
  }

  /** A new active key; the old one is retired and stays in the JWKS for `retireAfterDays`. */
  async rotate(retireAfterDays: number): Promise<{ active: NewSigningKey; retired: SigningKey | null }> {
    const key = await generateSigningKey();
    const retired = await this.store.rotate(key, retireAfterDays);
    return { active: key, retired };
  }

  list(): Promise<SigningKey[]> {
    return this.store.list();
  }

  /** The JWKS at `at`: the active key and the retired keys not yet expired, public members only. */
  async jwks(at: Date = new Date()): Promise<Jwks> {
    return { keys: (await this.store.published(at)).map(publicJwk) };
  }
}

const imported = new Map<string, Promise<KeyLike | Uint8Array>>();

/** The private key of a stored key, ready to sign: imported once per kid (a kid is its key's thumbprint). */
export function privateKeyOf(key: SigningKey): Promise<KeyLike | Uint8Array> {
  let found = imported.get(key.kid);
  if (!found) {
    found = importJWK(key.privateJwk as unknown as JWK, key.algorithm);
    imported.set(key.kid, found);
  }
  return found;
}
