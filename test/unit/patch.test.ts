import type { Actor } from '../../src/domain/actor';
import { authorizeUserChange, type PolicySettings, type UserState } from '../../src/domain/policy';
import { USER_DEFAULTS } from '../../src/domain/user';
import { ROSTER_USER_SCHEMA } from '../../src/extensions/roster-user';
import { ScimError, toScimError } from '../../src/scim/http/errors';
import { applyPatch, parsePatchRequest } from '../../src/scim/patch/patch';
import { userSchemaIndex } from '../../src/scim/schema/schema-index';
import { ENTERPRISE_USER_SCHEMA, PATCH_OP_SCHEMA, USER_SCHEMA, configureScimmy } from '../../src/scim/schema/scimmy';
import { userDraftFromScim } from '../../src/scim/resources/user.mapper';

/*
 * PATCH (RFC 7644 section 3.5.2) on a user, in memory: parsePatchRequest checks the
 * message and its paths, applyPatch applies the operations in order to the user's SCIM
 * JSON, as the /Users route does before the result is validated and stored.
 */

// The schema index must see the enterprise and Roster extensions: declare them first.
configureScimmy();
const index = userSchemaIndex();

type Json = Record<string, unknown>;

/** A user as GET /Users/{id} shows it. */
function ada(): Json {
  return {
    schemas: [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, ROSTER_USER_SCHEMA],
    id: 'user-1',
    userName: 'ada@example.com',
    name: { givenName: 'Ada', familyName: 'Lovelace' },
    displayName: 'Ada Lovelace',
    title: 'Analyst',
    active: true,
    emails: [
      { value: 'ada@work.example', type: 'work', primary: true },
      { value: 'ada@home.example', type: 'home' },
    ],
    phoneNumbers: [{ value: '+1 555 0100', type: 'work' }],
    [ENTERPRISE_USER_SCHEMA]: { department: 'Research', manager: { value: 'manager-1' } },
    [ROSTER_USER_SCHEMA]: { systemRole: 'User', organizationRole: 'Standard User', mfaEnabled: false, locked: false },
    meta: { resourceType: 'User', version: 'W/"3"' },
  };
}

/** The PatchOp message a client sends. */
const message = (...operations: Json[]) => ({ schemas: [PATCH_OP_SCHEMA], Operations: operations });

/** The user after the client's PATCH operations. */
function patched(resource: Json, ...operations: Json[]): Json {
  return applyPatch(resource, parsePatchRequest(message(...operations), index), index);
}

/** The SCIM error a client gets for `run`: its status, scimType and detail. */
function refusal(run: () => unknown): { status: number; scimType?: string; detail: string } {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ScimError);
    const { status, scimType, detail } = error as ScimError;
    return { status, scimType, detail };
  }
  throw new Error('expected the PATCH to be refused');
}

const emailsOf = (resource: Json) => resource.emails as Json[];

describe('parsePatchRequest', () => {
  it('takes op in any letter case and `operations` in lower case (as some clients send them)', () => {
    const operations = parsePatchRequest(
      {
        schemas: [PATCH_OP_SCHEMA],
        operations: [
          { op: 'Replace', path: 'title', value: 'Lead' },
          { op: 'REMOVE', path: 'nickName' },
        ],
      },
      index,
    );
    expect(operations.map((o) => o.op)).toEqual(['replace', 'remove']);
  });

  it.each([
    ['a body that is not an object', 'invalidSyntax', []],
    ['a message without the PatchOp schema', 'invalidSyntax', { Operations: [{ op: 'add', path: 'title', value: 'x' }] }],
    ['no operations', 'invalidSyntax', message()],
    ['an unknown op', 'invalidSyntax', message({ op: 'merge', path: 'title', value: 'x' })],
    ['an operation that is not an object', 'invalidSyntax', message('add' as unknown as Json)],
    ['remove without a path', 'noTarget', message({ op: 'remove' })],
    ['add without a value', 'invalidValue', message({ op: 'add', path: 'title' })],
    ['a path-less add whose value is not an object', 'invalidValue', message({ op: 'add', value: ['x'] })],
    ['a path that is not a string', 'invalidPath', message({ op: 'replace', path: 7, value: 'x' })],
    ['a filter without its closing bracket', 'invalidPath', message({ op: 'replace', path: 'emails[type eq "work"', value: 'x' })],
    ['a filter that does not parse', 'invalidPath', message({ op: 'replace', path: 'emails[type zz "work"].value', value: 'x' })],
    ['text after the filter that is no sub-attribute', 'invalidPath', message({ op: 'replace', path: 'emails[type eq "work"]value', value: 'x' })],
    ['a path three names deep', 'invalidPath', message({ op: 'replace', path: 'name.givenName.first', value: 'x' })],
  ])('refuses %s: 400 %s', (_what, scimType, body) => {
    expect(refusal(() => parsePatchRequest(body, index))).toMatchObject({ status: 400, scimType });
  });
});

describe('applyPatch: add', () => {
  it('without a path, sets each attribute of the value and leaves the others alone', () => {
    const user = ada();
    const result = patched(user, { op: 'add', value: { nickName: 'Countess', title: 'Lead' } });
    expect(result).toMatchObject({ nickName: 'Countess', title: 'Lead', displayName: 'Ada Lovelace', userName: 'ada@example.com' });
    expect(user).toEqual(ada()); // the input is not modified
  });

  it('without a path, takes dotted and URN-qualified keys and whole extension blocks', () => {
    const result = patched(ada(), {
      op: 'add',
      value: {
        'name.givenName': 'Augusta',
        [`${USER_SCHEMA}:title`]: 'Lead',
        [`${ENTERPRISE_USER_SCHEMA}:employeeNumber`]: '42',
        [ENTERPRISE_USER_SCHEMA]: { costCenter: 'CC-7' },
      },
    });
    expect(result.name).toEqual({ givenName: 'Augusta', familyName: 'Lovelace' });
    expect(result.title).toBe('Lead');
    expect(result[ENTERPRISE_USER_SCHEMA]).toEqual({ department: 'Research', manager: { value: 'manager-1' }, employeeNumber: '42', costCenter: 'CC-7' });
  });

  it('without a path, ignores id, meta and schemas', () => {
    const result = patched(ada(), { op: 'add', value: { id: 'other', meta: { version: 'W/"9"' }, schemas: [USER_SCHEMA], title: 'Lead' } });
    expect(result).toMatchObject({ id: 'user-1', meta: ada().meta, schemas: ada().schemas, title: 'Lead' });
  });

  it('on a multi-valued attribute appends the new values and skips one already there', () => {
    const result = patched(ada(), {
      op: 'add',
      path: 'emails',
      value: [
        { value: 'ada@home.example', type: 'home' },
        { value: 'ada@other.example', type: 'other' },
      ],
    });
    expect(emailsOf(result).map((e) => e.value)).toEqual(['ada@work.example', 'ada@home.example', 'ada@other.example']);
  });

  it('of a primary value leaves exactly one primary', () => {
    const result = patched(ada(), { op: 'add', path: 'emails', value: [{ value: 'ada@new.example', type: 'work', primary: true }] });
    expect(
      emailsOf(result)
        .filter((e) => e.primary === true)
        .map((e) => e.value),
    ).toEqual(['ada@new.example']);
  });

  it('on a complex attribute merges the sub-attributes given into the stored ones', () => {
    expect(patched(ada(), { op: 'add', path: 'name', value: { givenName: 'Augusta' } }).name).toEqual({ givenName: 'Augusta', familyName: 'Lovelace' });
  });

  it('on a sub-attribute sets it', () => {
    expect(patched(ada(), { op: 'add', path: 'name.middleName', value: 'King' }).name).toEqual({
      givenName: 'Ada',
      middleName: 'King',
      familyName: 'Lovelace',
    });
  });

  it('through a value filter that matches nothing creates the element the filter describes', () => {
    const result = patched(ada(), { op: 'add', path: 'emails[type eq "other"].value', value: 'ada@other.example' });
    expect(emailsOf(result)).toContainEqual({ type: 'other', value: 'ada@other.example' });
    expect(emailsOf(result)).toHaveLength(3);
  });

  it('through a value filter that matches nothing and describes no element: 400 noTarget', () => {
    expect(refusal(() => patched(ada(), { op: 'add', path: 'emails[value co "nowhere"].value', value: 'x@example.com' }))).toMatchObject({
      status: 400,
      scimType: 'noTarget',
    });
  });
});

describe('applyPatch: replace', () => {
  it('without a path sets the attributes given; boolean strings become booleans', () => {
    const result = patched(ada(), { op: 'replace', value: { active: 'False', displayName: 'A. Lovelace' } });
    expect(result.active).toBe(false);
    expect(result.displayName).toBe('A. Lovelace');
  });

  it('matches the path in any letter case and keeps the schema spelling of the name', () => {
    const result = patched(ada(), { op: 'replace', path: 'DisplayName', value: 'Countess' });
    expect(result.displayName).toBe('Countess');
    expect(Object.keys(result)).not.toContain('DisplayName');
  });

  it('on a multi-valued attribute sets the whole list', () => {
    const result = patched(ada(), { op: 'replace', path: 'emails', value: [{ value: 'only@example.com', type: 'work' }] });
    expect(result.emails).toEqual([{ value: 'only@example.com', type: 'work' }]);
  });

  it('on a complex attribute replaces the sub-attributes given and leaves the others (RFC 7644 section 3.5.2.3)', () => {
    expect(patched(ada(), { op: 'replace', path: 'name', value: { givenName: 'Augusta' } }).name).toEqual({ givenName: 'Augusta', familyName: 'Lovelace' });
    expect(patched(ada(), { op: 'replace', value: { name: { givenName: 'Augusta' } } }).name).toEqual({ givenName: 'Augusta', familyName: 'Lovelace' });
  });

  it('on a sub-attribute changes only that sub-attribute', () => {
    expect(patched(ada(), { op: 'replace', path: 'name.givenName', value: 'Augusta' }).name).toEqual({ givenName: 'Augusta', familyName: 'Lovelace' });
  });

  it('through a value filter changes only the matching elements: emails[type eq "work"].value', () => {
    const result = patched(ada(), { op: 'replace', path: 'emails[type eq "work"].value', value: 'ada@moved.example' });
    expect(result.emails).toEqual([
      { value: 'ada@moved.example', type: 'work', primary: true },
      { value: 'ada@home.example', type: 'home' },
    ]);
  });

  it('through a value filter without a sub-attribute replaces the matching element whole', () => {
    const result = patched(ada(), { op: 'replace', path: 'emails[type eq "work"]', value: { value: 'ada@new-work.example', type: 'work' } });
    expect(result.emails).toEqual([
      { value: 'ada@new-work.example', type: 'work' },
      { value: 'ada@home.example', type: 'home' },
    ]);
  });

  it('making a filtered element primary takes primary from the others', () => {
    const result = patched(ada(), { op: 'replace', path: 'emails[type eq "home"].primary', value: true });
    expect(emailsOf(result).map((e) => [e.type, e.primary])).toEqual([
      ['work', false],
      ['home', true],
    ]);
  });

  it('takes URN-qualified paths into the core schema and the extensions', () => {
    const result = patched(
      ada(),
      { op: 'replace', path: `${USER_SCHEMA}:title`, value: 'Lead' },
      { op: 'replace', path: `${ENTERPRISE_USER_SCHEMA}:department`, value: 'Operations' },
      { op: 'replace', path: `${ENTERPRISE_USER_SCHEMA}:manager.value`, value: 'manager-2' },
    );
    expect(result.title).toBe('Lead');
    expect(result[ENTERPRISE_USER_SCHEMA]).toEqual({ department: 'Operations', manager: { value: 'manager-2' } });
  });

  it('takes the enterprise manager as a bare id', () => {
    const result = patched(ada(), { op: 'replace', path: `${ENTERPRISE_USER_SCHEMA}:manager`, value: 'manager-2' });
    expect((result[ENTERPRISE_USER_SCHEMA] as Json).manager).toEqual({ value: 'manager-2' });
  });

  it('on a whole extension URN sets the attributes given and keeps the others', () => {
    const result = patched(ada(), { op: 'replace', path: ENTERPRISE_USER_SCHEMA, value: { department: 'Operations' } });
    expect(result[ENTERPRISE_USER_SCHEMA]).toEqual({ department: 'Operations', manager: { value: 'manager-1' } });
  });

  it('applies the operations in order', () => {
    const result = patched(
      ada(),
      { op: 'replace', path: 'title', value: 'Lead' },
      { op: 'remove', path: 'title' },
      { op: 'add', path: 'title', value: 'Chief' },
    );
    expect(result.title).toBe('Chief');
  });
});

describe('applyPatch: remove', () => {
  it('of a single-valued attribute removes it', () => {
    expect(patched(ada(), { op: 'remove', path: 'title' })).not.toHaveProperty('title');
  });

  it('of a sub-attribute removes only it', () => {
    expect(patched(ada(), { op: 'remove', path: 'name.familyName' }).name).toEqual({ givenName: 'Ada' });
  });

  it('of a whole multi-valued attribute removes every value', () => {
    const result = patched(ada(), { op: 'remove', path: 'emails' });
    expect(result).not.toHaveProperty('emails');
    expect(result.phoneNumbers).toEqual(ada().phoneNumbers);
  });

  it('of a multi-valued attribute with a value removes only the values listed', () => {
    const result = patched(ada(), { op: 'remove', path: 'emails', value: [{ value: 'ada@home.example' }] });
    expect(emailsOf(result).map((e) => e.value)).toEqual(['ada@work.example']);
  });

  it('through a value filter removes the matching elements', () => {
    expect(patched(ada(), { op: 'remove', path: 'emails[type eq "home"]' }).emails).toEqual([{ value: 'ada@work.example', type: 'work', primary: true }]);
  });

  it('through a value filter with a sub-attribute removes it from the matching elements only', () => {
    const result = patched(ada(), { op: 'remove', path: 'emails[type eq "work"].primary' });
    expect(result.emails).toEqual([
      { value: 'ada@work.example', type: 'work' },
      { value: 'ada@home.example', type: 'home' },
    ]);
  });

  it('of the manager through a filter on its value (as Entra sends it)', () => {
    const result = patched(ada(), { op: 'remove', path: `${ENTERPRISE_USER_SCHEMA}:manager[value eq "manager-1"]` });
    expect(result[ENTERPRISE_USER_SCHEMA]).toEqual({ department: 'Research' });
  });

  it('of a whole extension URN removes its block', () => {
    expect(patched(ada(), { op: 'remove', path: ENTERPRISE_USER_SCHEMA })).not.toHaveProperty([ENTERPRISE_USER_SCHEMA]);
  });

  it('of what is not there changes nothing and is no error', () => {
    expect(patched(ada(), { op: 'remove', path: 'nickName' }, { op: 'remove', path: 'emails[type eq "other"]' })).toEqual(ada());
  });
});

describe('applyPatch: errors', () => {
  it('an attribute the schema does not have: 400 invalidPath', () => {
    const error = refusal(() => patched(ada(), { op: 'replace', path: 'nosuch', value: 1 }));
    expect(error).toMatchObject({ status: 400, scimType: 'invalidPath' });
    expect(error.detail).toContain('nosuch');
  });

  it('a value filter on a single-valued attribute: 400 invalidPath', () => {
    expect(refusal(() => patched(ada(), { op: 'replace', path: 'title[value eq "Analyst"]', value: 'x' }))).toMatchObject({
      status: 400,
      scimType: 'invalidPath',
    });
  });

  it('an unknown sub-attribute after a value filter: 400 invalidPath', () => {
    expect(refusal(() => patched(ada(), { op: 'replace', path: 'emails[type eq "work"].nosuch', value: 'x' }))).toMatchObject({
      status: 400,
      scimType: 'invalidPath',
    });
  });

  it('a filter on the manager that does not match it: 400 noTarget', () => {
    const error = refusal(() => patched(ada(), { op: 'replace', path: `${ENTERPRISE_USER_SCHEMA}:manager[value eq "someone-else"].value`, value: 'x' }));
    expect(error).toMatchObject({ status: 400, scimType: 'noTarget' });
  });

  it('a whole extension URN with a value that is not an object: 400 invalidValue', () => {
    expect(refusal(() => patched(ada(), { op: 'add', path: ENTERPRISE_USER_SCHEMA, value: 'Research' }))).toMatchObject({
      status: 400,
      scimType: 'invalidValue',
    });
  });

  it('read-only mfaEnabled: the patch carries the change, and the user policy refuses it with 400 mutability', () => {
    const result = patched(ada(), { op: 'replace', path: `${ROSTER_USER_SCHEMA}:mfaEnabled`, value: true });
    const draft = userDraftFromScim(result, { complete: true });
    expect(draft.mfaEnabled).toBe(true);

    const admin: Actor = { credentialId: 'credential-1', organizationId: 'org-1', systemRole: 'Administrator', organizationRole: 'Standard User' };
    const settings: PolicySettings = { deploymentType: 'cloud', twoFactorAuthenticationRequired: false, termsOfServiceRequireNewUserToAccept: false };
    const current: UserState = { ...USER_DEFAULTS, userName: 'ada@example.com', organizationId: 'org-1', mfaEnabled: false };
    let refused: unknown;
    try {
      authorizeUserChange(admin, settings, { action: 'update', current, desired: { ...current, mfaEnabled: draft.mfaEnabled } });
    } catch (error) {
      refused = error;
    }
    expect(toScimError(refused, 'request-1')).toMatchObject({ status: 400, scimType: 'mutability' });
  });

  it('a failing operation leaves the input untouched (the PATCH is all or nothing)', () => {
    const user = ada();
    refusal(() => patched(user, { op: 'replace', path: 'title', value: 'Lead' }, { op: 'replace', path: 'nosuch', value: 1 }));
    expect(user).toEqual(ada());
  });
});
