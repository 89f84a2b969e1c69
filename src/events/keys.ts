import { hkdfSync } from 'node:crypto';
import { calculateJwkThumbprint, compactDecrypt, CompactEncrypt, exportJWK, generateKeyPair, importJWK, type JWK, type KeyLike } from 'jose';
import type { Jwk, NewSigningKey, SigningKey, SigningKeyStore } from '../domain/signing';

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

/**
 * The key that seals private keys at rest: 32 bytes derived (HKDF-SHA-256) from
 * ROSTER_SIGNING_KEY_SECRET, for JWE `dir` with A256GCM.
 */
export function keyEncryptionKey(secret: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', secret, 'roster', 'signing-key-encryption', 32));
}

/** A stored private half is sealed when it is `{ sealed: <compact JWE> }`. */
export const isSealed = (jwk: Jwk): boolean => typeof jwk.sealed === 'string';

/** The private JWK as a compact JWE (`dir`, A256GCM) under the key-encryption key. */
async function seal(jwk: Jwk, kek: Uint8Array): Promise<Jwk> {
  const jwe = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify(jwk)))
    .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', cty: 'jwk+json' })
    .encrypt(kek);
  return { sealed: jwe };
}

async function open(jwk: Jwk, kek: Uint8Array | undefined): Promise<Jwk> {
  if (!isSealed(jwk)) return jwk;
  if (!kek) throw new Error('the signing key is encrypted and ROSTER_SIGNING_KEY_SECRET is not set');
  try {
    const { plaintext } = await compactDecrypt(jwk.sealed as string, kek);
    return JSON.parse(new TextDecoder().decode(plaintext)) as Jwk;
  } catch {
    throw new Error('the signing key cannot be decrypted: ROSTER_SIGNING_KEY_SECRET is not the secret it was sealed with');
  }
}

/**
 * Roster's signing keys: the active one made on first start, rotation, and the JWKS.
 * With a key-encryption key (`kek`, from ROSTER_SIGNING_KEY_SECRET) private halves are
 * stored sealed and opened here, in memory, to sign.
 */
export class SigningKeys {
  /** Opened private halves by kid (a kid is its key's thumbprint: one kid, one key). */
  private readonly opened = new Map<string, Promise<Jwk>>();

  constructor(
    private readonly store: SigningKeyStore,
    private readonly kek?: Uint8Array,
  ) {}

  /** The active key, made and stored first when there is none (two instances starting together keep one). */
  async ensureActive(): Promise<SigningKey> {
    const active = await this.active();
    if (active) return active;
    await this.store.insertIfNoneActive(await this.sealed(await generateSigningKey()));
    const stored = await this.active();
    if (!stored) throw new Error('no active signing key after storing one');
    return stored;
  }

  /** The active key, its private half opened. */
  async active(): Promise<SigningKey | null> {
    const key = await this.store.active();
    if (!key) return null;
    let privateJwk = this.opened.get(key.kid);
    if (!privateJwk) {
      privateJwk = open(key.privateJwk, this.kek);
      privateJwk.catch(() => this.opened.delete(key.kid));
      this.opened.set(key.kid, privateJwk);
    }
    return { ...key, privateJwk: await privateJwk };
  }

  /** A new active key; the old one is retired and stays in the JWKS for `retireAfterDays`. */
  async rotate(retireAfterDays: number): Promise<{ active: NewSigningKey; retired: SigningKey | null }> {
    const key = await generateSigningKey();
    const retired = await this.store.rotate(await this.sealed(key), retireAfterDays);
    return { active: key, retired };
  }

  /** With a key-encryption key: seals every private half stored unencrypted; how many. Without one: how many are unencrypted. */
  async sealStored(): Promise<{ sealed: number; unencrypted: number }> {
    let sealed = 0;
    let unencrypted = 0;
    for (const key of await this.store.list()) {
      if (isSealed(key.privateJwk)) {
        if (this.kek) await open(key.privateJwk, this.kek); // a wrong secret fails here, at start
        continue;
      }
      if (!this.kek) unencrypted += 1;
      else if (await this.store.replacePrivate(key.kid, await seal(key.privateJwk, this.kek))) sealed += 1;
    }
    return { sealed, unencrypted };
  }

  private async sealed(key: NewSigningKey): Promise<NewSigningKey> {
    return this.kek ? { ...key, privateJwk: await seal(key.privateJwk, this.kek) } : key;
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
