import type { Group, GroupMember } from '../../src/domain/group';
import { USER_DEFAULTS, type User } from '../../src/domain/user';
import { ROSTER_USER_SCHEMA } from '../../src/extensions/roster-user';
import { toScimError } from '../../src/scim/http/errors';
import { MICROSOFT_GROUP_SCHEMA, groupDraftFromScim, toScimGroup } from '../../src/scim/resources/group.mapper';
import { hasKey, toScimUser, userDraftFromScim } from '../../src/scim/resources/user.mapper';
import { ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA, configureScimmy } from '../../src/scim/schema/scimmy';

/*
 * The SCIM mappers, in memory: a stored User or Group as the resource a client reads
 * (toScimUser, toScimGroup), and a POST or PUT body as what the client asks for
 * (userDraftFromScim, groupDraftFromScim). test/db/registry.test.ts walks every
 * attribute of the registry; this checks the rules a client notices one by one.
 */

// scimmy validates with the enterprise and Roster extensions declared: set it up first.
configureScimmy();

type Json = Record<string, unknown>;

const BASE = 'https://roster.example/scim/v2';
const USER_ID = '5b0e3f1c-7d2a-4c1e-9a3b-0c4d5e6f7a8b';

/** A stored user with nothing but the defaults set. */
function storedUser(fields: Partial<User> = {}): User {
  return {
    ...USER_DEFAULTS,
    userName: 'ada@example.com',
    id: USER_ID,
    organizationId: 'org-1',
    systemRoleGroupId: null,
    organizationRoleGroupId: null,
    mfaEnabled: false,
    passwordHash: '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA',
    createdAt: new Date('2024-01-02T03:04:05.678Z'),
    updatedAt: new Date('2024-02-03T04:05:06.789Z'),
    version: 7,
    ...fields,
  };
}

/** A User body as a client POSTs or PUTs it. */
const userBody = (fields: Json = {}): Json => ({ schemas: [USER_SCHEMA], userName: 'ada@example.com', ...fields });
const rosterBody = (block: Json, fields: Json = {}): Json => ({
  schemas: [USER_SCHEMA, ROSTER_USER_SCHEMA],
  userName: 'ada@example.com',
  [ROSTER_USER_SCHEMA]: block,
  ...fields,
});
const groupBody = (fields: Json = {}): Json => ({ schemas: [GROUP_SCHEMA], displayName: 'Analysts', ...fields });

/** The SCIM error a client gets for `run`: its status, scimType and detail (scimmy's own errors as the server answers them). */
function catching(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a refusal');
}

function refusal(run: () => unknown): { status: number; scimType?: string; detail: string } {
  try {
    run();
  } catch (error) {
    const scim = toScimError(error, 'request-1');
    expect(scim.status).not.toBe(500);
    const { status, scimType, detail } = scim;
    return { status, scimType, detail };
  }
  throw new Error('expected the body to be refused');
}

describe('toScimUser', () => {
  it('leaves out unassigned attributes: null, empty lists and empty objects', () => {
    const resource = toScimUser(storedUser(), [], BASE);
    for (const key of [
      'externalId',
      'name',
      'displayName',
      'nickName',
      'title',
      'emails',
      'phoneNumbers',
      'addresses',
      'groups',
      'roles',
      ENTERPRISE_USER_SCHEMA,
    ]) {
      expect(resource).not.toHaveProperty([key]);
    }
    expect(resource).toMatchObject({ id: USER_ID, userName: 'ada@example.com', active: true });
  });

  it('keeps only the parts of `name` that are set', () => {
    const resource = toScimUser(storedUser({ name: { givenName: 'Ada', familyName: 'Lovelace', middleName: undefined } }), [], BASE);
    expect(resource.name).toEqual({ givenName: 'Ada', familyName: 'Lovelace' });
  });

  it('lists the enterprise schema only when the enterprise block holds something', () => {
    expect(toScimUser(storedUser({ enterprise: null }), [], BASE).schemas).toEqual([USER_SCHEMA, ROSTER_USER_SCHEMA]);
    expect(toScimUser(storedUser({ enterprise: {} }), [], BASE).schemas).toEqual([USER_SCHEMA, ROSTER_USER_SCHEMA]);

    const resource = toScimUser(storedUser({ enterprise: { department: 'Research' } }), [], BASE);
    expect(resource.schemas).toEqual([USER_SCHEMA, ENTERPRISE_USER_SCHEMA, ROSTER_USER_SCHEMA]);
    expect(resource[ENTERPRISE_USER_SCHEMA]).toEqual({ department: 'Research' });
  });

  it("shows the user's groups as direct memberships with a $ref", () => {
    const resource = toScimUser(
      storedUser(),
      [
        { id: 'g-1', displayName: 'Analysts' },
        { id: 'g-2', displayName: 'Admins' },
      ],
      BASE,
    );
    expect(resource.groups).toEqual([
      { value: 'g-1', $ref: `${BASE}/Groups/g-1`, display: 'Analysts', type: 'direct' },
      { value: 'g-2', $ref: `${BASE}/Groups/g-2`, display: 'Admins', type: 'direct' },
    ]);
  });

  it('shows the Roster block with the account type derived from the system role', () => {
    const roster = (systemRole: User['systemRole']) => toScimUser(storedUser({ systemRole }), [], BASE)[ROSTER_USER_SCHEMA] as Json;
    expect(roster('Api User').accountType).toBe('api');
    expect(roster('Exchange Admin').accountType).toBe('api');
    expect(roster('Taxii User').accountType).toBe('taxii');
    expect(roster('Read Only User').accountType).toBe('readOnly');
    expect(roster('Administrator').accountType).toBe('standard');
    expect(roster('User')).toMatchObject({ systemRole: 'User', organizationRole: 'Standard User', mfaEnabled: false, passwordResetRequired: true });
  });

  it('leaves unset Roster settings out of the block and keeps the set ones, false included', () => {
    const block = toScimUser(storedUser({ customTqlTimeout: 60000, includeInObservations: false }), [], BASE)[ROSTER_USER_SCHEMA] as Json;
    expect(block).toMatchObject({ customTqlTimeout: 60000, includeInObservations: false, locked: false });
    expect(block).not.toHaveProperty('logoutAfterMinutes');
    expect(block).not.toHaveProperty('allowExceedApiLinkLimit');
  });

  it('never shows the password hash, the password or sendAccountInfoEmail', () => {
    const resource = toScimUser(storedUser({ sendAccountInfoEmail: true }), [], BASE);
    const text = JSON.stringify(resource);
    expect(text).not.toContain('$argon2id');
    expect(text).not.toContain('passwordHash');
    expect(text).not.toContain('sendAccountInfoEmail');
    expect(resource).not.toHaveProperty('password');
    expect(resource).not.toHaveProperty('organizationId');
  });

  it('writes meta: location, weak version, ISO dates', () => {
    expect(toScimUser(storedUser(), [], BASE).meta).toEqual({
      resourceType: 'User',
      created: '2024-01-02T03:04:05.678Z',
      lastModified: '2024-02-03T04:05:06.789Z',
      location: `${BASE}/Users/${USER_ID}`,
      version: 'W/"7"',
    });
  });
});

describe('userDraftFromScim: the body', () => {
  it('refuses a body that is not an object: 400 invalidSyntax', () => {
    for (const body of [null, 'ada', 42, [userBody()]]) {
      expect(refusal(() => userDraftFromScim(body))).toMatchObject({ status: 400, scimType: 'invalidSyntax' });
    }
  });

  it('refuses a body without the core User schema: 400 invalidSyntax', () => {
    expect(refusal(() => userDraftFromScim({ userName: 'ada@example.com' }))).toMatchObject({ status: 400, scimType: 'invalidSyntax' });
    const error = refusal(() => userDraftFromScim({ schemas: [GROUP_SCHEMA], userName: 'ada@example.com' }));
    expect(error).toMatchObject({ status: 400, scimType: 'invalidSyntax' });
    expect(error.detail).toContain(USER_SCHEMA);
  });

  it('refuses a body without userName: 400 invalidValue', () => {
    const error = refusal(() => userDraftFromScim({ schemas: [USER_SCHEMA], displayName: 'Ada' }));
    expect(error).toMatchObject({ status: 400, scimType: 'invalidValue' });
    expect(error.detail).toContain('userName');
  });

  it('drops read-only attributes the client echoes back (id, meta, groups)', () => {
    const draft = userDraftFromScim(userBody({ id: 'other-id', meta: { version: 'W/"1"' }, groups: [{ value: 'g-1' }] })) as unknown as Json;
    expect(draft).not.toHaveProperty('id');
    expect(draft).not.toHaveProperty('meta');
    expect(draft).not.toHaveProperty('groups');
  });
});

describe('userDraftFromScim: PUT semantics', () => {
  it('clears an omitted core attribute: displayName, title, name, emails, the enterprise block', () => {
    const draft = userDraftFromScim(userBody());
    expect(draft.displayName).toBeNull();
    expect(draft.title).toBeNull();
    expect(draft.name).toEqual({});
    expect(draft.emails).toEqual([]);
    expect(draft.enterprise).toBeNull();
  });

  it('keeps an omitted externalId and active (undefined), and clears externalId sent as null', () => {
    const omitted = userDraftFromScim(userBody());
    expect(omitted.externalId).toBeUndefined();
    expect(omitted.active).toBeUndefined();
    expect(userDraftFromScim(userBody({ externalId: null })).externalId).toBeNull();
    expect(userDraftFromScim(userBody({ externalId: 'entra-1' })).externalId).toBe('entra-1');
  });

  it('with `complete: true`, an omitted externalId was removed: null', () => {
    expect(userDraftFromScim(userBody(), { complete: true }).externalId).toBeNull();
    expect(userDraftFromScim(userBody(), { complete: true }).active).toBeUndefined();
  });

  it('reads the string booleans Entra sends for active ("False", "TRUE"), and refuses any other string: 400 invalidValue', () => {
    expect(userDraftFromScim(userBody({ active: 'False' })).active).toBe(false);
    expect(userDraftFromScim(userBody({ active: 'TRUE' })).active).toBe(true);
    expect(refusal(() => userDraftFromScim(userBody({ active: 'maybe' })))).toMatchObject({ status: 400, scimType: 'invalidValue' });
  });

  it('reads attribute names in any letter case', () => {
    const draft = userDraftFromScim({ schemas: [USER_SCHEMA], UserName: 'ada@example.com', DISPLAYNAME: 'Ada', Active: 'False' });
    expect([draft.userName, draft.displayName, draft.active]).toEqual(['ada@example.com', 'Ada', false]);
  });
});

describe('userDraftFromScim: multi-valued attributes and password', () => {
  it('refuses two primary emails: 400 invalidValue', () => {
    const emails = [
      { value: 'a@work.example', type: 'work', primary: true },
      { value: 'a@home.example', type: 'home', primary: true },
    ];
    const error = refusal(() => userDraftFromScim(userBody({ emails })));
    expect(error).toMatchObject({ status: 400, scimType: 'invalidValue' });
    expect(error.detail).toContain('emails');
  });

  it('takes one primary email, and a type outside the suggested ones', () => {
    const emails = [
      { value: 'a@work.example', type: 'work', primary: true },
      { value: 'a@pager.example', type: 'pager' },
    ];
    expect(userDraftFromScim(userBody({ emails })).emails).toEqual(emails);
  });

  it('carries a string password, and refuses any other: 400 invalidValue', () => {
    expect(userDraftFromScim(userBody({ password: 'correct horse battery staple' })).password).toBe('correct horse battery staple');
    expect(userDraftFromScim(userBody())).not.toHaveProperty('password');
    expect(refusal(() => userDraftFromScim(userBody({ password: 12345678 })))).toMatchObject({ status: 400, scimType: 'invalidValue' });
  });
});

describe('userDraftFromScim: the enterprise extension', () => {
  it('folds a URN-qualified enterprise key into the enterprise block', () => {
    const draft = userDraftFromScim({
      schemas: [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
      userName: 'ada@example.com',
      [`${ENTERPRISE_USER_SCHEMA}:department`]: 'Research',
    });
    expect(draft.enterprise).toEqual({ department: 'Research' });
  });

  it('reads a manager given as a bare id string', () => {
    const draft = userDraftFromScim({
      schemas: [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
      userName: 'ada@example.com',
      [ENTERPRISE_USER_SCHEMA]: { manager: 'manager-1' },
    });
    expect(draft.enterprise).toEqual({ manager: { value: 'manager-1' } });
  });

  it('refuses an attribute given both URN-qualified and inside its block: 400 invalidSyntax', () => {
    const body = {
      schemas: [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
      userName: 'ada@example.com',
      [ENTERPRISE_USER_SCHEMA]: { department: 'Research' },
      [`${ENTERPRISE_USER_SCHEMA}:department`]: 'Sales',
    };
    expect(refusal(() => userDraftFromScim(body))).toMatchObject({ status: 400, scimType: 'invalidSyntax' });
  });
});

describe('userDraftFromScim: the Roster extension', () => {
  it('spells a system or organization role given in another letter case canonically', () => {
    const draft = userDraftFromScim(rosterBody({ systemRole: 'api user', organizationRole: 'SHARING USER' }));
    expect([draft.systemRole, draft.organizationRole]).toEqual(['Api User', 'Sharing User']);
  });

  it('refuses a role that is not one of the canonical values: 400 invalidValue', () => {
    expect(refusal(() => userDraftFromScim(rosterBody({ systemRole: 'Overlord' })))).toMatchObject({ status: 400, scimType: 'invalidValue' });
    expect(refusal(() => userDraftFromScim(rosterBody({ organizationRole: 42 })))).toMatchObject({ status: 400, scimType: 'invalidValue' });
    // Refused by Roster's own role check, so the log names the rule (errorCode), not a schema failure.
    expect(
      toScimError(
        catching(() => userDraftFromScim(rosterBody({ systemRole: 'Overlord' }))),
        'request-1',
      ).code,
    ).toBe('user.role_not_canonical');
  });

  it('keeps omitted roles and settings (undefined)', () => {
    const draft = userDraftFromScim(userBody());
    for (const field of ['systemRole', 'organizationRole', 'locked', 'customTqlTimeout', 'logoutAfterMinutes', 'mfaEnabled', 'sendAccountInfoEmail'] as const) {
      expect([field, draft[field]]).toEqual([field, undefined]);
    }
  });

  it('keeps omitted nullable settings, and clears them with `complete: true` or null', () => {
    expect(userDraftFromScim(rosterBody({ locked: true })).logoutAfterMinutes).toBeUndefined();
    const complete = userDraftFromScim(rosterBody({ locked: true }), { complete: true });
    expect([complete.logoutAfterMinutes, complete.customTqlTimeout, complete.includeInObservations]).toEqual([null, null, null]);
    expect(userDraftFromScim(rosterBody({ logoutAfterMinutes: null })).logoutAfterMinutes).toBeNull();
    expect(userDraftFromScim(rosterBody({ logoutAfterMinutes: 30 })).logoutAfterMinutes).toBe(30);
  });

  it('reads the Roster block and its attribute names in any letter case, and URN-qualified Roster keys', () => {
    const draft = userDraftFromScim({
      schemas: [USER_SCHEMA],
      userName: 'ada@example.com',
      [ROSTER_USER_SCHEMA.toUpperCase()]: { SystemRole: 'Taxii User', LOCKED: true },
    });
    expect([draft.systemRole, draft.locked]).toEqual(['Taxii User', true]);
    const qualified = userDraftFromScim({ schemas: [USER_SCHEMA], userName: 'ada@example.com', [`${ROSTER_USER_SCHEMA}:systemRole`]: 'Read Only User' });
    expect(qualified.systemRole).toBe('Read Only User');
  });

  it('reads the read-only mfaEnabled as sent, "True" included, so the policy can refuse a change; a non-boolean is 400', () => {
    expect(userDraftFromScim(rosterBody({ mfaEnabled: true })).mfaEnabled).toBe(true);
    expect(userDraftFromScim(rosterBody({ mfaEnabled: 'True' })).mfaEnabled).toBe(true);
    expect(userDraftFromScim(rosterBody({ mfaEnabled: 'false' })).mfaEnabled).toBe(false);
    for (const mfaEnabled of ['yes', 1, null]) {
      expect(refusal(() => userDraftFromScim(rosterBody({ mfaEnabled })))).toMatchObject({ status: 400, scimType: 'invalidValue' });
    }
  });

  it('reads sendAccountInfoEmail on create as a boolean, "True" included, and refuses any other value', () => {
    expect(userDraftFromScim(rosterBody({ sendAccountInfoEmail: 'True' }), { create: true }).sendAccountInfoEmail).toBe(true);
    expect(userDraftFromScim(rosterBody({ sendAccountInfoEmail: true })).sendAccountInfoEmail).toBeUndefined();
    expect(refusal(() => userDraftFromScim(rosterBody({ sendAccountInfoEmail: 'soon' }), { create: true }))).toMatchObject({
      status: 400,
      scimType: 'invalidValue',
    });
  });
});

describe('hasKey', () => {
  it('finds an attribute in any letter case', () => {
    expect(hasKey({ ExternalId: null }, 'externalId')).toBe(true);
    expect(hasKey({ displayName: 'x' }, 'externalId')).toBe(false);
  });
});

const GROUP_ID = '9c8b7a6f-5e4d-4c3b-2a19-0f1e2d3c4b5a';

function storedGroup(fields: Partial<Group> = {}): Group {
  return {
    id: GROUP_ID,
    organizationId: 'org-1',
    displayName: 'Analysts',
    externalId: null,
    createdAt: new Date('2024-03-04T05:06:07.000Z'),
    updatedAt: new Date('2024-04-05T06:07:08.000Z'),
    version: 2,
    ...fields,
  };
}

describe('toScimGroup', () => {
  it('shows members with a $ref and type User, and display only when known', () => {
    const members: GroupMember[] = [
      { userId: 'u-1', display: 'Ada Lovelace' },
      { userId: 'u-2', display: null },
    ];
    expect(toScimGroup(storedGroup(), members, BASE).members).toEqual([
      { value: 'u-1', $ref: `${BASE}/Users/u-1`, display: 'Ada Lovelace', type: 'User' },
      { value: 'u-2', $ref: `${BASE}/Users/u-2`, type: 'User' },
    ]);
  });

  it('has no members key when the list is empty or not asked for', () => {
    expect(toScimGroup(storedGroup(), [], BASE)).not.toHaveProperty('members');
    expect(toScimGroup(storedGroup(), undefined, BASE)).not.toHaveProperty('members');
  });

  it('writes schemas, id, displayName and meta, and no externalId while it is null', () => {
    expect(toScimGroup(storedGroup(), undefined, BASE)).toEqual({
      schemas: [GROUP_SCHEMA],
      id: GROUP_ID,
      displayName: 'Analysts',
      meta: {
        resourceType: 'Group',
        created: '2024-03-04T05:06:07.000Z',
        lastModified: '2024-04-05T06:07:08.000Z',
        location: `${BASE}/Groups/${GROUP_ID}`,
        version: 'W/"2"',
      },
    });
    expect(toScimGroup(storedGroup({ externalId: 'entra-g-1' }), [], BASE).externalId).toBe('entra-g-1');
  });
});

describe('groupDraftFromScim', () => {
  it('makes the members (or their absence) one replace of the membership, by their ids', () => {
    const draft = groupDraftFromScim(groupBody({ members: [{ value: 'u-1', display: 'Ada' }, { value: ' u-2 ' }] }));
    expect(draft).toEqual({ displayName: 'Analysts', membership: [{ kind: 'replace', userIds: ['u-1', 'u-2'] }] });
    expect(groupDraftFromScim(groupBody()).membership).toEqual([{ kind: 'replace', userIds: [] }]);
  });

  it('refuses a member without an id: 400 invalidValue', () => {
    expect(refusal(() => groupDraftFromScim(groupBody({ members: [{ display: 'Ada' }] })))).toMatchObject({ status: 400, scimType: 'invalidValue' });
  });

  it('accepts the Microsoft group schema URI and drops it, and attribute names in any letter case', () => {
    const draft = groupDraftFromScim({ schemas: [GROUP_SCHEMA, MICROSOFT_GROUP_SCHEMA], DisplayName: 'Analysts', Members: [{ Value: 'u-1' }] });
    expect(draft).toEqual({ displayName: 'Analysts', membership: [{ kind: 'replace', userIds: ['u-1'] }] });
  });

  it('refuses a body that is not an object, or without the core Group schema: 400 invalidSyntax', () => {
    expect(refusal(() => groupDraftFromScim([groupBody()]))).toMatchObject({ status: 400, scimType: 'invalidSyntax' });
    expect(refusal(() => groupDraftFromScim({ schemas: [MICROSOFT_GROUP_SCHEMA], displayName: 'Analysts' }))).toMatchObject({
      status: 400,
      scimType: 'invalidSyntax',
    });
  });

  it('refuses a group without displayName: 400 invalidValue', () => {
    const error = refusal(() => groupDraftFromScim({ schemas: [GROUP_SCHEMA], members: [] }));
    expect(error).toMatchObject({ status: 400, scimType: 'invalidValue' });
    expect(error.detail).toContain('displayName');
  });

  it('keeps an omitted externalId, clears a null one, and with `complete: true` clears an omitted one', () => {
    expect(groupDraftFromScim(groupBody())).not.toHaveProperty('externalId');
    expect(groupDraftFromScim(groupBody({ externalId: null })).externalId).toBeNull();
    expect(groupDraftFromScim(groupBody({ externalId: 'entra-g-1' })).externalId).toBe('entra-g-1');
    expect(groupDraftFromScim(groupBody(), { complete: true }).externalId).toBeNull();
  });
});
