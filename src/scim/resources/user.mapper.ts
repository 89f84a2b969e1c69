import { accountTypeOf, organizationRoleNamed, systemRoleNamed } from '../../domain/roles';
import type { MultiValue, User, UserDraft } from '../../domain/user';
import type { AttributeDefinition } from '../../schema/registry';
import { ROSTER_EXTENSION, ROSTER_USER_SCHEMA, USER_RESOURCE } from '../../schema/resources';
import { invalidSyntax, invalidValue, validated } from '../http/errors';
import { etagOf } from '../http/http';
import { foldQualifiedKeys, normalizeResource } from '../schema/interop';
import { coerceInbound } from '../schema/coerce';
import { userSchemaIndex } from '../schema/schema-index';
import { ENTERPRISE_USER_SCHEMA, SCIMMY, USER_SCHEMA } from '../schema/scimmy';

type Json = Record<string, unknown>;

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

type Writer = (out: Json, user: User, groups: { id: string; displayName: string }[], baseUrl: string) => void;

type UserGroups = { id: string; displayName: string }[];

/** The displayName of the group with this id among the user's groups (a granting group is always one of them). */
const groupName = (groups: UserGroups, id: string | null) => (id === null ? undefined : (groups.find((g) => g.id === id)?.displayName ?? id));

/** The scim side of `derived` attributes that are not `id` or `meta` (which every resource has). */
const DERIVED_VALUES: Record<string, (user: User, groups: UserGroups) => unknown> = {
  accountType: (user) => accountTypeOf(user.systemRole),
  systemRoleSource: (user, groups) => groupName(groups, user.systemRoleGroupId),
  organizationRoleSource: (user, groups) => groupName(groups, user.organizationRoleGroupId),
};

/** Whether rendering this user needs its groups (the names of the groups granting its roles: systemRoleSource, organizationRoleSource). */
export const hasRolesFromGroups = (user: User) => user.systemRoleGroupId !== null || user.organizationRoleGroupId !== null;

/** How one attribute of a schema block is read from a User, for the attributes the registry returns by default. */
function valueReader(a: AttributeDefinition): ((user: User, groups: UserGroups) => unknown) | undefined {
  if (a.returned === 'never' || a.returned === 'request') return undefined;
  switch (a.storage.kind) {
    case 'column':
      return (user) => (user as unknown as Json)[a.name];
    case 'columns':
      return (user) => compact((user as unknown as Json)[a.name] as Json);
    case 'derived': {
      const read = DERIVED_VALUES[a.name];
      if (!read) throw new Error(`no value for the derived attribute ${a.name}`);
      return read;
    }
    default:
      return undefined;
  }
}

/**
 * What toScimUser writes, attribute by attribute in the registry's order: compiled once
 * from the registry (src/schema/resources.ts), since this runs for every user of a page.
 */
function userWriters(): Writer[] {
  const writers: Writer[] = [];
  for (const a of USER_RESOURCE.core.attributes) {
    if (a.name === 'id' || a.name === 'meta') continue;
    if (a.name === 'groups') {
      writers.push((out, _user, groups, baseUrl) => {
        if (groups.length > 0) out.groups = groups.map((g) => ({ value: g.id, $ref: `${baseUrl}/Groups/${g.id}`, display: g.displayName, type: 'direct' }));
      });
      continue;
    }
    const read = valueReader(a);
    if (read) writers.push((out, user, groups) => put(out, a.name, read(user, groups)));
  }
  for (const schema of USER_RESOURCE.extensions) {
    if (schema.field) {
      const field = schema.field;
      writers.push((out, user) => put(out, schema.id, (user as unknown as Json)[field]));
      continue;
    }
    const readers = schema.attributes.flatMap((a) => {
      const read = valueReader(a);
      return read ? [[a.name, read] as const] : [];
    });
    writers.push((out, user, groups) => {
      const block: Json = {};
      for (const [name, read] of readers) put(block, name, read(user, groups));
      put(out, schema.id, block);
    });
  }
  return writers;
}

const USER_WRITERS = userWriters();

/** A stored user as a SCIM User resource (everything `returned` by default), in the registry's order. */
export function toScimUser(user: User, groups: { id: string; displayName: string }[], baseUrl: string): Json {
  const enterprise = user.enterprise && !isEmpty(user.enterprise as Json);
  const out: Json = {
    schemas: enterprise ? [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, ROSTER_USER_SCHEMA] : [USER_SCHEMA, ROSTER_USER_SCHEMA],
    id: user.id,
  };
  for (const write of USER_WRITERS) write(out, user, groups, baseUrl);
  out.meta = {
    resourceType: 'User',
    created: user.createdAt.toISOString(),
    lastModified: user.updatedAt.toISOString(),
    location: `${baseUrl}/Users/${user.id}`,
    version: etagOf(user.version),
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

/** The domain's spelling of the roles whose canonical values DOMAIN.md fixes. */
const CANONICAL: Record<string, (value: string) => string | undefined> = {
  systemRole: systemRoleNamed,
  organizationRole: organizationRoleNamed,
};

/**
 * The Roster extension's attributes a request sets, by the registry's rules. Only
 * attributes present are returned, so a request that leaves the block (or an
 * attribute) out keeps what is stored; `null` clears a nullable one. A read-only
 * attribute with a column (`mfaEnabled`) is dropped by scimmy: it is read from the raw
 * block so the policy can refuse a change to it. A create-only one (`sendAccountInfoEmail`)
 * is read from a create only.
 */
function rosterFields(block: Json | undefined, raw: Json | undefined, options: DraftOptions): Partial<UserDraft> {
  const out: Json = {};
  const rawKey = (name: string) => (raw === undefined ? undefined : Object.keys(raw).find((k) => k.toLowerCase() === name.toLowerCase()));
  const value = (name: string) => (block ?? {})[name];
  for (const a of ROSTER_EXTENSION.attributes) {
    if (a.storage.kind !== 'column') continue;
    const sent = rawKey(a.name) !== undefined;
    // scimmy leaves read-only and write-only values out of what it returns: they are read as sent.
    const asSent = () => {
      const given = a.type === 'boolean' ? normalizeBoolean(raw?.[rawKey(a.name) as string]) : raw?.[rawKey(a.name) as string];
      if (typeof given !== a.type) throw invalidValue(`user.${snake(a.name)}_not_${a.type}`, `${a.name} must be a${a.type === 'integer' ? 'n' : ''} ${a.type}`);
      return given;
    };
    if (a.mutability === 'readOnly') {
      if (sent) out[a.name] = asSent();
    } else if (a.createOnly) {
      if (sent && options.create === true) out[a.name] = asSent();
    } else if (CANONICAL[a.name]) {
      if (sent) out[a.name] = canonicalRole(value(a.name), CANONICAL[a.name], a.name);
    } else if (a.storage.nullable) {
      if (sent || options.complete === true) out[a.name] = value(a.name) ?? null;
    } else if (sent && typeof value(a.name) === a.type) {
      out[a.name] = value(a.name);
    }
  }
  return out as Partial<UserDraft>;
}

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function normalizeBoolean(value: unknown): unknown {
  return typeof value === 'string' && /^(true|false)$/i.test(value) ? value.toLowerCase() === 'true' : value;
}

/** Whether a body sets an attribute, in any letter case. */
export const hasKey = (body: Json, name: string) => Object.keys(body).some((k) => k.toLowerCase() === name.toLowerCase());

/**
 * `complete`: the body is a whole resource (a PATCH result), where a missing attribute
 * was removed. `create`: the body creates the user (create-only attributes are read).
 */
export interface DraftOptions {
  complete?: boolean;
  create?: boolean;
}

/** The multi-valued attributes kept as sent (emails, phoneNumbers...): at most one element of each is primary. */
const MULTI_VALUED = USER_RESOURCE.core.attributes.filter((a) => a.multiValued && a.storage.kind === 'column').map((a) => a.name);

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
export function userDraftFromScim(body: unknown, options: DraftOptions = {}): UserDraft {
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
  // Roles first, as sent: a role that is not one of DOMAIN.md's is refused with its own code.
  const rosterBlock = rawRosterBlock(raw);
  for (const [name, named] of Object.entries(CANONICAL)) {
    const key = rosterBlock && Object.keys(rosterBlock).find((k) => k.toLowerCase() === name.toLowerCase());
    if (key !== undefined) canonicalRole(rosterBlock?.[key], named, name);
  }
  const user = validated('user.schema_invalid', () => coerceInbound(SCIMMY.Schemas.User.definition, normalizeResource(raw, userSchemaIndex())));
  for (const a of MULTI_VALUED) {
    const values = user[a];
    if (Array.isArray(values) && values.filter((v) => (v as Json)?.primary === true).length > 1) {
      throw invalidValue('user.primary_repeated', `at most one of ${a} may be primary (RFC 7643 section 2.4)`);
    }
  }
  const draft: Json = { ...rosterFields(user[ROSTER_USER_SCHEMA] as Json | undefined, rawRosterBlock(raw), options), userName: user.userName };
  for (const a of USER_RESOURCE.core.attributes) {
    if (a.mutability === 'readOnly' || a.name === 'userName') continue;
    if (a.name === 'externalId') {
      // Absent `externalId` keeps the stored link (a PUT that omits it must not unlink the
      // identity provider's account); `null` clears it, and so does its removal by PATCH.
      if (options.complete === true || hasKey(raw, 'externalId')) draft.externalId = str(user.externalId);
    } else if (a.name === 'active') {
      // Absent `active` keeps the stored state (a PUT that omits it must not re-enable a
      // disabled account); a new user without it is active.
      if (typeof user.active === 'boolean') draft.active = user.active;
    } else if (a.storage.kind === 'columns') {
      draft[a.name] = user[a.name] ?? {};
    } else if (a.storage.kind === 'column') {
      draft[a.name] = a.multiValued ? list(user[a.name]) : str(user[a.name]);
    }
  }
  for (const schema of USER_RESOURCE.extensions) {
    if (!schema.field) continue;
    const block = user[schema.id] as Json | undefined;
    draft[schema.field] = block && Object.keys(block).length > 0 ? block : null;
  }
  return {
    ...(draft as unknown as UserDraft),
    ...(typeof password === 'string' ? { password } : {}),
  };
}
