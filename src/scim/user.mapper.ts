import { organizationRoleNamed, systemRoleNamed } from '../domain/roles';
import { accountSettingsOf, type MultiValue, type User, type UserDraft } from '../domain/user';
import { ROSTER_USER_SCHEMA } from '../extensions/roster-user';
import { invalidSyntax, invalidValue, validated } from './errors';
import { foldQualifiedKeys, normalizeResource } from './interop';
import { userSchemaIndex } from './schema-index';
import { ENTERPRISE_USER_SCHEMA, SCIMMY, USER_SCHEMA } from './scimmy';

type Json = Record<string, unknown>;

export const weakETag = (version: number) => `W/"${version}"`;

/** Leaves out what has no value: SCIM does not return unassigned attributes. */
function compact(object: Json): Json {
  const out: Json = {};
  // for...in and no per-entry arrays: this runs for every user of every list page.
  for (const k in object) {
    const v = object[k];
    if (v === null || v === undefined) continue;
    if (typeof v === 'object' && !(v instanceof Date) && (Array.isArray(v) ? v.length === 0 : isEmpty(v as Json))) continue;
    out[k] = v;
  }
  return out;
}

function isEmpty(object: Json): boolean {
  for (const _ in object) return false;
  return true;
}

/** Sets `key` unless the value is unassigned (null, undefined, an empty array or object). */
function put(out: Json, key: string, v: unknown): void {
  if (v === null || v === undefined) return;
  if (typeof v === 'object' && !(v instanceof Date) && (Array.isArray(v) ? v.length === 0 : isEmpty(v as Json))) return;
  out[key] = v;
}

/** A stored user as a SCIM User resource (everything `returned` by default). */
export function toScimUser(user: User, groups: { id: string; displayName: string }[], baseUrl: string): Json {
  const enterprise = user.enterprise && !isEmpty(user.enterprise as Json) ? user.enterprise : null;
  // Built in place, attribute by attribute, in the order SCIM lists them: this runs for
  // every user of every list page.
  const out: Json = {
    schemas: enterprise ? [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, ROSTER_USER_SCHEMA] : [USER_SCHEMA, ROSTER_USER_SCHEMA],
    id: user.id,
  };
  put(out, 'externalId', user.externalId);
  put(out, 'userName', user.userName);
  put(out, 'name', compact(user.name as Json));
  put(out, 'displayName', user.displayName);
  put(out, 'nickName', user.nickName);
  put(out, 'profileUrl', user.profileUrl);
  put(out, 'title', user.title);
  put(out, 'userType', user.userType);
  put(out, 'preferredLanguage', user.preferredLanguage);
  put(out, 'locale', user.locale);
  put(out, 'timezone', user.timezone);
  put(out, 'active', user.active);
  put(out, 'emails', user.emails);
  put(out, 'phoneNumbers', user.phoneNumbers);
  put(out, 'ims', user.ims);
  put(out, 'photos', user.photos);
  put(out, 'addresses', user.addresses);
  put(out, 'entitlements', user.entitlements);
  put(out, 'roles', user.roles);
  put(out, 'x509Certificates', user.x509Certificates);
  if (groups.length > 0) {
    out.groups = groups.map((g) => ({ value: g.id, $ref: `${baseUrl}/Groups/${g.id}`, display: g.displayName, type: 'direct' }));
  }
  if (enterprise) out[ENTERPRISE_USER_SCHEMA] = enterprise;
  put(out, ROSTER_USER_SCHEMA, compact(accountSettingsOf(user)));
  out.meta = {
    resourceType: 'User',
    created: user.createdAt.toISOString(),
    lastModified: user.updatedAt.toISOString(),
    location: `${baseUrl}/Users/${user.id}`,
    version: weakETag(user.version),
  };
  return out;
}

/** The Roster extension block as sent, found in any case (read-only attributes included). */
function rawRosterBlock(raw: Json): Json | undefined {
  const key = Object.keys(raw).find((k) => k.toLowerCase() === ROSTER_USER_SCHEMA.toLowerCase());
  const block = key ? raw[key] : undefined;
  return block && typeof block === 'object' && !Array.isArray(block) ? (block as Json) : undefined;
}

function canonicalRole<R>(value: unknown, named: (s: string) => R | undefined, what: string): R | undefined {
  if (value === undefined || value === null) return undefined;
  const role = typeof value === 'string' ? named(value) : undefined;
  if (!role) throw invalidValue('user.role_not_canonical', `${what} "${String(value)}" is not one of its canonical values`);
  return role;
}

/**
 * The Roster extension's attributes a request sets. Only attributes present are
 * returned, so a request that leaves the block (or an attribute) out keeps what is
 * stored; `null` clears a nullable one. `mfaEnabled` is read-only and scimmy drops
 * it: it is read from the raw block so the policy can refuse a change to it.
 */
function rosterFields(block: Json | undefined, raw: Json | undefined, complete: boolean): Partial<UserDraft> {
  const out: Partial<UserDraft> = {};
  const has = (name: string) => raw !== undefined && Object.keys(raw).some((k) => k.toLowerCase() === name.toLowerCase());
  const value = (name: string) => (block ?? {})[name];
  if (has('systemRole')) out.systemRole = canonicalRole(value('systemRole'), systemRoleNamed, 'systemRole');
  if (has('organizationRole')) out.organizationRole = canonicalRole(value('organizationRole'), organizationRoleNamed, 'organizationRole');
  const nullable = ['customTqlTimeout', 'logoutAfterMinutes', 'summaryEmailTime', 'tokenExpirationDays', 'includeInObservations', 'allowExceedApiLinkLimit'] as const;
  for (const name of nullable) if (has(name) || complete) (out as Json)[name] = value(name) ?? null;
  const flags = ['locked', 'passwordResetRequired', 'mfaResetRequired', 'termsOfServiceAcceptanceRequired'] as const;
  for (const name of flags) if (has(name) && typeof value(name) === 'boolean') (out as Json)[name] = value(name);
  const mfaKey = raw && Object.keys(raw).find((k) => k.toLowerCase() === 'mfaenabled');
  if (mfaKey !== undefined) {
    const mfa = normalizeBoolean(raw?.[mfaKey]);
    if (typeof mfa !== 'boolean') throw invalidValue('user.mfa_enabled_not_boolean', 'mfaEnabled must be a boolean');
    out.mfaEnabled = mfa;
  }
  return out;
}

function normalizeBoolean(value: unknown): unknown {
  return typeof value === 'string' && /^(true|false)$/i.test(value) ? value.toLowerCase() === 'true' : value;
}

/** Whether a body sets an attribute, in any letter case. */
export const hasKey = (body: Json, name: string) => Object.keys(body).some((k) => k.toLowerCase() === name.toLowerCase());

const list = (v: unknown) => (Array.isArray(v) ? (v as MultiValue[]) : []);
const str = (v: unknown) => (typeof v === 'string' ? v : null);

/**
 * A SCIM User request body as the user the client wants. Validation (types,
 * required attributes, canonical values) is scimmy's schema coercion; read-only
 * attributes (id, meta, groups) are dropped by it. Every core attribute but `active`
 * but `active` and `externalId` is given, so a PUT clears what it leaves out; those two
 * left out keep their value.
 * Roster extension attributes left out keep their value, unless `complete` says the
 * body is a whole resource (a PATCH result), where a missing one was removed.
 */
export function userDraftFromScim(body: unknown, options: { complete?: boolean } = {}): UserDraft {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw invalidSyntax('user.body_not_object', 'the request body must be a JSON object');
  }
  const raw = foldQualifiedKeys(body as Json, userSchemaIndex());
  if (!Array.isArray(raw.schemas) || !raw.schemas.some((s) => typeof s === 'string' && s.toLowerCase() === USER_SCHEMA.toLowerCase())) {
    throw invalidSyntax('user.schemas_invalid', `schemas must include ${USER_SCHEMA}`);
  }
  const password = raw.password;
  if (password !== undefined && typeof password !== 'string') {
    throw invalidValue('user.password_not_string', 'password must be a string');
  }
  const user = validated(
    'user.schema_invalid',
    () => JSON.parse(JSON.stringify(new SCIMMY.Schemas.User(normalizeResource(raw, userSchemaIndex()), 'in'))) as Json,
  );
  const enterprise = user[ENTERPRISE_USER_SCHEMA] as Json | undefined;
  for (const name of ['emails', 'phoneNumbers', 'ims', 'photos', 'addresses', 'entitlements', 'roles', 'x509Certificates']) {
    const values = user[name];
    if (Array.isArray(values) && values.filter((v) => (v as Json)?.primary === true).length > 1) {
      throw invalidValue('user.primary_repeated', `at most one of ${name} may be primary (RFC 7643 section 2.4)`);
    }
  }
  return {
    ...rosterFields(user[ROSTER_USER_SCHEMA] as Json | undefined, rawRosterBlock(raw), options.complete === true),
    userName: user.userName as string,
    // Absent `externalId` keeps the stored link (a PUT that omits it must not unlink the
    // identity provider's account); `null` clears it, and so does its removal by PATCH.
    ...(options.complete === true || hasKey(raw, 'externalId') ? { externalId: str(user.externalId) } : {}),
    name: (user.name as UserDraft['name']) ?? {},
    displayName: str(user.displayName),
    nickName: str(user.nickName),
    profileUrl: str(user.profileUrl),
    title: str(user.title),
    userType: str(user.userType),
    preferredLanguage: str(user.preferredLanguage),
    locale: str(user.locale),
    timezone: str(user.timezone),
    // Absent `active` keeps the stored state (a PUT that omits it must not re-enable a
    // disabled account); a new user without it is active.
    ...(typeof user.active === 'boolean' ? { active: user.active } : {}),
    emails: list(user.emails),
    phoneNumbers: list(user.phoneNumbers),
    ims: list(user.ims),
    photos: list(user.photos),
    addresses: list(user.addresses),
    entitlements: list(user.entitlements),
    roles: list(user.roles),
    x509Certificates: list(user.x509Certificates),
    enterprise: enterprise && Object.keys(enterprise).length > 0 ? enterprise : null,
    ...(typeof password === 'string' ? { password } : {}),
  };
}
