import type { Actor } from '../../src/domain/actor';
import { DomainError } from '../../src/domain/errors';
import {
  IMPLIED_SYSTEM_ROLES,
  authorizeGroupChange,
  authorizeUserChange,
  maySetSystemRoles,
  type DeploymentType,
  type PolicySettings,
  type UserChange,
  type UserState,
  type UserWish,
} from '../../src/domain/policy';
import { ORGANIZATION_ROLES, SYSTEM_ROLES, type OrganizationRole, type SystemRole } from '../../src/domain/roles';
import { USER_DEFAULTS } from '../../src/domain/user';

// ---------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------

const OUR_ORG = 'org-ours';
const OTHER_ORG = 'org-other';

const SETTINGS: PolicySettings = {
  deploymentType: 'cloud',
  twoFactorAuthenticationRequired: false,
  termsOfServiceRequireNewUserToAccept: false,
};

function actor(systemRole: SystemRole, organizationRole: OrganizationRole, organizationId = OUR_ORG): Actor {
  return { credentialId: 'cred-1', organizationId, systemRole, organizationRole };
}

const ADMIN = actor('Administrator', 'Standard User');
const OPS_ADMIN = actor('Operations Administrator', 'Standard User');
const SUPER_USER = actor('Super User', 'Organization Administrator');
const ORG_ADMIN = actor('User', 'Organization Administrator');
const READER = actor('User', 'Standard User');

/** A stored user of our organization: a standard user with the defaults. */
function stored(overrides: Partial<UserState> = {}): UserState {
  return { ...USER_DEFAULTS, userName: 'ada@example.com', organizationId: OUR_ORG, mfaEnabled: false, ...overrides };
}

/** What a client asks for, starting from a stored user (mfaEnabled only when given). */
function wish(from: UserState, overrides: Partial<UserWish> = {}): UserWish {
  const { mfaEnabled: _stored, ...fields } = from;
  return { ...fields, ...overrides };
}

/** A new user as the service builds it: the defaults, the instance's terms flag, then the request. */
function newUser(overrides: Partial<UserWish> = {}, settings: PolicySettings = SETTINGS): UserWish {
  return wish(stored({ termsOfServiceAcceptanceRequired: settings.termsOfServiceRequireNewUserToAccept }), overrides);
}

/** "allowed", or the refusal as "<status> <code>". */
function outcome(who: Actor, change: UserChange, settings: PolicySettings = SETTINGS): string {
  try {
    authorizeUserChange(who, settings, change);
    return 'allowed';
  } catch (error) {
    return refusal(error);
  }
}

function groupOutcome(who: Actor, organizationId: string, settings: PolicySettings = SETTINGS): string {
  try {
    authorizeGroupChange(who, settings, organizationId);
    return 'allowed';
  } catch (error) {
    return refusal(error);
  }
}

const STATUS: Partial<Record<DomainError['kind'], number>> = { forbidden: 403, invalid_value: 400, mutability: 400, not_found: 404 };

function refusal(error: unknown): string {
  if (!(error instanceof DomainError)) throw error;
  return `${STATUS[error.kind] ?? error.kind} ${error.code}`;
}

/** The error itself, for tests that read its message. */
function errorOf(who: Actor, change: UserChange, settings: PolicySettings = SETTINGS): DomainError {
  try {
    authorizeUserChange(who, settings, change);
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('the change was allowed');
}

const create = (desired: UserWish): UserChange => ({ action: 'create', desired });
const update = (current: UserState, overrides: Partial<UserWish>): UserChange => ({
  action: 'update',
  current,
  desired: wish(current, overrides),
});
const remove = (current: UserState): UserChange => ({ action: 'delete', current });

// ---------------------------------------------------------------------------------
// 1. Rules 1 to 4 and tenancy, exhaustively, against an oracle written from DOMAIN.md
// ---------------------------------------------------------------------------------

/** The roles as DOMAIN.md lists them, typed again here so the oracle does not share the module's tables. */
const RANK: Record<SystemRole, number> = {
  Administrator: 5,
  'Operations Administrator': 4,
  'Accounts Administrator': 3,
  'Community Leader': 2,
  'Super User': 2,
  User: 1,
  'Read Only User': 1,
  'Api User': 1,
  'Exchange Admin': 1,
  'Taxii User': 1,
};
const ALL_SYSTEM_ROLES = Object.keys(RANK) as SystemRole[];
const ALL_ORGANIZATION_ROLES: OrganizationRole[] = [
  'Organization Administrator',
  'Sharing User',
  'Standard User',
  'App Developer',
  'Read Only Commenter',
  'Read Only User',
];
const DEPLOYMENTS: DeploymentType[] = ['cloud', 'dedicated', 'onprem'];

/** A valid organization role for each system role (rule 5), so the table isolates rules 1 to 4. */
function pairedOrganizationRole(role: SystemRole): OrganizationRole {
  if (role === 'Super User') return 'Organization Administrator';
  if (role === 'Read Only User') return 'Read Only User';
  return 'Standard User';
}

type TableAction = 'create' | 'update: role changes from User' | 'update: only displayName' | 'delete';
const TABLE_ACTIONS: TableAction[] = ['create', 'update: role changes from User', 'update: only displayName', 'delete'];

interface Cell {
  actorRole: SystemRole;
  actorOrganizationRole: OrganizationRole;
  deployment: DeploymentType;
  action: TableAction;
  target: SystemRole;
  organization: 'same' | 'other';
}

/** What DOMAIN.md says should happen, read as plainly as possible. */
function oracle(cell: Cell): string {
  // Rule 13: another organization's users do not exist for this actor.
  if (cell.organization === 'other') return '404 user.not_found';

  // Rule 1: who may manage users at all.
  const mayManage =
    cell.actorOrganizationRole === 'Organization Administrator' ||
    cell.actorRole === 'Administrator' ||
    cell.actorRole === 'Operations Administrator' ||
    cell.actorRole === 'Super User' ||
    (cell.actorRole === 'Accounts Administrator' && (cell.deployment === 'dedicated' || cell.deployment === 'onprem'));
  if (!mayManage) return '403 user.manage_forbidden';

  // Rule 2: not on a user whose current system role ranks above the actor's.
  const currentRole: SystemRole | undefined = cell.action === 'create' ? undefined : cell.action === 'update: role changes from User' ? 'User' : cell.target;
  if (currentRole !== undefined && RANK[currentRole] > RANK[cell.actorRole]) return '403 user.act_upward';

  // Rules 3 and 4 apply when a system role is given: on create, or on an update that changes it.
  const givesRole = cell.action === 'create' || (cell.action === 'update: role changes from User' && cell.target !== 'User');
  if (givesRole) {
    if (RANK[cell.target] > RANK[cell.actorRole]) return '403 user.grant_upward';
    const choosesRoles = cell.actorRole === 'Administrator' || cell.actorRole === 'Operations Administrator';
    const implied = cell.target === 'User' || cell.target === 'Api User' || cell.target === 'Read Only User';
    if (!choosesRoles && !implied) return '403 user.system_role_not_implied';
  }
  return 'allowed';
}

/** The change a cell stands for. */
function changeOf(cell: Cell): UserChange {
  const organizationId = cell.organization === 'same' ? OUR_ORG : OTHER_ORG;
  const asTarget = { systemRole: cell.target, organizationRole: pairedOrganizationRole(cell.target) };
  switch (cell.action) {
    case 'create':
      return create(newUser({ ...asTarget, organizationId }));
    case 'update: role changes from User':
      return update(stored({ organizationId, systemRole: 'User', organizationRole: 'Standard User' }), { ...asTarget, displayName: 'Ada' });
    case 'update: only displayName':
      return update(stored({ organizationId, ...asTarget }), { displayName: 'Ada' });
    case 'delete':
      return remove(stored({ organizationId, ...asTarget }));
  }
}

describe('rules 1-4 and tenancy, every actor x action x target system role', () => {
  it('covers every role the module knows', () => {
    expect([...ALL_SYSTEM_ROLES].sort()).toEqual([...SYSTEM_ROLES].sort());
    expect([...ALL_ORGANIZATION_ROLES].sort()).toEqual([...ORGANIZATION_ROLES].sort());
  });

  const rows = ALL_SYSTEM_ROLES.flatMap((actorRole) =>
    ALL_ORGANIZATION_ROLES.flatMap((actorOrganizationRole) => DEPLOYMENTS.map((deployment) => [actorRole, actorOrganizationRole, deployment] as const)),
  );

  it.each(rows)('actor %s / %s on %s: agrees with DOMAIN.md for every action and target', (actorRole, actorOrganizationRole, deployment) => {
    const who = actor(actorRole, actorOrganizationRole);
    const settings = { ...SETTINGS, deploymentType: deployment };
    const mismatches: string[] = [];
    let cells = 0;
    for (const action of TABLE_ACTIONS) {
      for (const target of ALL_SYSTEM_ROLES) {
        for (const organization of ['same', 'other'] as const) {
          const cell: Cell = { actorRole, actorOrganizationRole, deployment, action, target, organization };
          const want = oracle(cell);
          const got = outcome(who, changeOf(cell), settings);
          cells++;
          if (got !== want) mismatches.push(`${action} target ${target} (${organization} organization): expected ${want}, got ${got}`);
        }
      }
    }
    expect(cells).toBe(TABLE_ACTIONS.length * ALL_SYSTEM_ROLES.length * 2);
    expect(mismatches).toEqual([]);
  });

  it('the table sees every outcome it can produce', () => {
    const seen = new Set<string>();
    for (const [actorRole, actorOrganizationRole, deployment] of rows) {
      for (const action of TABLE_ACTIONS) {
        for (const target of ALL_SYSTEM_ROLES) {
          for (const organization of ['same', 'other'] as const) {
            seen.add(oracle({ actorRole, actorOrganizationRole, deployment, action, target, organization }));
          }
        }
      }
    }
    expect([...seen].sort()).toEqual([
      '403 user.act_upward',
      '403 user.grant_upward',
      '403 user.manage_forbidden',
      '403 user.system_role_not_implied',
      '404 user.not_found',
      'allowed',
    ]);
  });
});

describe('tenancy and rules 1-4, by example', () => {
  it('an Administrator cannot touch a user of another organization: 404, naming no organization', () => {
    const foreign = stored({ organizationId: OTHER_ORG });
    const error = errorOf(ADMIN, update(foreign, { displayName: 'x' }));
    expect(error.kind).toBe('not_found');
    expect(error.code).toBe('user.not_found');
    expect(error.message).not.toContain(OTHER_ORG);
    expect(outcome(ADMIN, remove(foreign))).toBe('404 user.not_found');
  });

  it('a user cannot be moved to another organization', () => {
    expect(outcome(ADMIN, update(stored(), { organizationId: OTHER_ORG }))).toBe('404 user.not_found');
  });

  it('tenancy is checked before authority: a reader gets 404 for another organization, not 403', () => {
    expect(outcome(READER, remove(stored({ organizationId: OTHER_ORG })))).toBe('404 user.not_found');
  });

  it('a reader may not manage users, and the message names the rule', () => {
    const error = errorOf(READER, update(stored(), { displayName: 'x' }));
    expect(error.kind).toBe('forbidden');
    expect(error.code).toBe('user.manage_forbidden');
    expect(error.message).toMatch(/may only read users \(rule: who may manage users/);
  });

  it('an Accounts Administrator manages users on dedicated and on-premises instances, not on cloud', () => {
    const accounts = actor('Accounts Administrator', 'Standard User');
    const change = update(stored(), { displayName: 'x' });
    expect(outcome(accounts, change, { ...SETTINGS, deploymentType: 'cloud' })).toBe('403 user.manage_forbidden');
    expect(errorOf(accounts, change, { ...SETTINGS, deploymentType: 'cloud' }).message).toMatch(/this one is cloud/);
    expect(outcome(accounts, change, { ...SETTINGS, deploymentType: 'dedicated' })).toBe('allowed');
    expect(outcome(accounts, change, { ...SETTINGS, deploymentType: 'onprem' })).toBe('allowed');
  });

  it('an Organization Administrator cannot edit an Operations Administrator, and the message says why', () => {
    const error = errorOf(ORG_ADMIN, update(stored({ systemRole: 'Operations Administrator' }), { systemRole: 'User' }));
    expect(error.code).toBe('user.act_upward');
    expect(error.message).toBe(
      'an Organization Administrator with system role User cannot edit a user whose system role is Operations Administrator (rule: no acting upward)',
    );
  });

  it('an Operations Administrator cannot delete an Administrator', () => {
    const error = errorOf(OPS_ADMIN, remove(stored({ systemRole: 'Administrator' })));
    expect(error.code).toBe('user.act_upward');
    expect(error.message).toMatch(/^an Operations Administrator cannot delete a user whose system role is Administrator/);
  });

  it('an Operations Administrator cannot make anyone an Administrator', () => {
    expect(outcome(OPS_ADMIN, update(stored(), { systemRole: 'Administrator' }))).toBe('403 user.grant_upward');
    expect(errorOf(OPS_ADMIN, create(newUser({ systemRole: 'Administrator' }))).message).toBe(
      'an Operations Administrator cannot give the system role Administrator, which ranks above its own (rule: no granting upward)',
    );
  });

  it('a Super User may not choose a system role other than an implied one, even of its own rank', () => {
    const error = errorOf(SUPER_USER, create(newUser({ systemRole: 'Community Leader' })));
    expect(error.code).toBe('user.system_role_not_implied');
    expect(error.message).toMatch(/only Administrators and Operations Administrators may choose a system role/);
    expect(outcome(SUPER_USER, create(newUser({ systemRole: 'Api User' })))).toBe('allowed');
  });

  it('an Organization Administrator may re-type a user between the implied roles', () => {
    const apiUser = stored({ systemRole: 'Api User' });
    expect(outcome(ORG_ADMIN, update(apiUser, { systemRole: 'User' }))).toBe('allowed');
    expect(outcome(ORG_ADMIN, update(stored(), { systemRole: 'Read Only User', organizationRole: 'Read Only Commenter' }))).toBe('allowed');
  });

  it('an Organization Administrator cannot create a TAXII user (not an implied role)', () => {
    expect(outcome(ORG_ADMIN, create(newUser({ systemRole: 'Taxii User' })))).toBe('403 user.system_role_not_implied');
  });

  it('an update that changes only displayName is allowed for anyone who may manage users', () => {
    for (const who of [ADMIN, OPS_ADMIN, SUPER_USER, ORG_ADMIN]) {
      expect(outcome(who, update(stored(), { displayName: 'Ada Lovelace' }))).toBe('allowed');
    }
  });

  it('rule 2 wins over rule 3 when both are broken', () => {
    expect(outcome(ORG_ADMIN, update(stored({ systemRole: 'Community Leader' }), { systemRole: 'Administrator' }))).toBe('403 user.act_upward');
  });
});

describe('role names', () => {
  it('a system role that is not canonical is refused with 400', () => {
    expect(outcome(ADMIN, create(newUser({ systemRole: 'administrator' as SystemRole })))).toBe('400 user.system_role_unknown');
    expect(outcome(ADMIN, update(stored(), { systemRole: 'Boss' as SystemRole }))).toBe('400 user.system_role_unknown');
  });

  it('an organization role that is not canonical is refused with 400', () => {
    expect(outcome(ADMIN, create(newUser({ organizationRole: 'Owner' as OrganizationRole })))).toBe('400 user.organization_role_unknown');
  });

  it('a reader gets 403 whatever it sends', () => {
    expect(outcome(READER, create(newUser({ systemRole: 'Boss' as SystemRole })))).toBe('403 user.manage_forbidden');
  });
});

// ---------------------------------------------------------------------------------
// 2. Rules 5 to 11 and the value rules
// ---------------------------------------------------------------------------------

describe('rule 5: role pairs', () => {
  it('Super User requires organization role Organization Administrator', () => {
    const error = errorOf(ADMIN, create(newUser({ systemRole: 'Super User', organizationRole: 'Standard User' })));
    expect(error.kind).toBe('invalid_value');
    expect(error.code).toBe('user.role_pair_invalid');
    expect(error.message).toBe('system role Super User requires organization role Organization Administrator, not Standard User (rule: role pairs)');
    expect(outcome(ADMIN, create(newUser({ systemRole: 'Super User', organizationRole: 'Organization Administrator' })))).toBe('allowed');
  });

  it('Read Only User requires organization role Read Only User or Read Only Commenter', () => {
    expect(outcome(ORG_ADMIN, create(newUser({ systemRole: 'Read Only User', organizationRole: 'Sharing User' })))).toBe('400 user.role_pair_invalid');
    expect(outcome(ORG_ADMIN, create(newUser({ systemRole: 'Read Only User', organizationRole: 'Read Only User' })))).toBe('allowed');
    expect(outcome(ORG_ADMIN, create(newUser({ systemRole: 'Read Only User', organizationRole: 'Read Only Commenter' })))).toBe('allowed');
  });

  it('other system roles take any organization role', () => {
    for (const organizationRole of ALL_ORGANIZATION_ROLES) {
      expect(outcome(ORG_ADMIN, create(newUser({ systemRole: 'User', organizationRole })))).toBe('allowed');
    }
  });

  it('changing only the organization role of a Super User away from Organization Administrator is refused', () => {
    const superUser = stored({ systemRole: 'Super User', organizationRole: 'Organization Administrator' });
    expect(outcome(ADMIN, update(superUser, { organizationRole: 'Sharing User' }))).toBe('400 user.role_pair_invalid');
  });

  it('changing the system role to Read Only User without its organization role is refused', () => {
    expect(outcome(ORG_ADMIN, update(stored(), { systemRole: 'Read Only User' }))).toBe('400 user.role_pair_invalid');
  });

  it('an edit that changes neither role is not refused for a stored pair that breaks the rule', () => {
    const legacy = stored({ systemRole: 'Read Only User', organizationRole: 'Standard User' });
    expect(outcome(ORG_ADMIN, update(legacy, { displayName: 'x' }))).toBe('allowed');
  });

  it('authority comes first: an Organization Administrator asking for Super User gets 403, not 400', () => {
    expect(outcome(ORG_ADMIN, create(newUser({ systemRole: 'Super User', organizationRole: 'Standard User' })))).toBe('403 user.grant_upward');
  });
});

describe('rule 6: customTqlTimeout', () => {
  it('org admin cannot set customTqlTimeout', () => {
    const error = errorOf(ORG_ADMIN, create(newUser({ customTqlTimeout: 60_000 })));
    expect(error.code).toBe('user.custom_tql_timeout_forbidden');
    expect(error.message).toMatch(/^only Administrators and Operations Administrators may set customTqlTimeout/);
    expect(outcome(ORG_ADMIN, update(stored(), { customTqlTimeout: 60_000 }))).toBe('403 user.custom_tql_timeout_forbidden');
  });

  it('org admin cannot change or clear customTqlTimeout', () => {
    const withTimeout = stored({ customTqlTimeout: 60_000 });
    expect(outcome(ORG_ADMIN, update(withTimeout, { customTqlTimeout: 90_000 }))).toBe('403 user.custom_tql_timeout_forbidden');
    expect(errorOf(ORG_ADMIN, update(withTimeout, { customTqlTimeout: null })).message).toMatch(/may clear customTqlTimeout/);
  });

  it('a Super User and an Accounts Administrator cannot set it either', () => {
    const accounts = actor('Accounts Administrator', 'Standard User');
    expect(outcome(SUPER_USER, create(newUser({ customTqlTimeout: 1000 })))).toBe('403 user.custom_tql_timeout_forbidden');
    expect(outcome(accounts, create(newUser({ customTqlTimeout: 1000 })), { ...SETTINGS, deploymentType: 'onprem' })).toBe(
      '403 user.custom_tql_timeout_forbidden',
    );
  });

  it('org admin may edit a user that has one, leaving it as it is', () => {
    expect(outcome(ORG_ADMIN, update(stored({ customTqlTimeout: 60_000 }), { displayName: 'x' }))).toBe('allowed');
    expect(outcome(ORG_ADMIN, create(newUser({ customTqlTimeout: null })))).toBe('allowed');
  });

  it('an admin can set and clear customTqlTimeout', () => {
    for (const who of [ADMIN, OPS_ADMIN]) {
      expect(outcome(who, create(newUser({ customTqlTimeout: 60_000 })))).toBe('allowed');
      expect(outcome(who, update(stored(), { customTqlTimeout: 60_000 }))).toBe('allowed');
      expect(outcome(who, update(stored({ customTqlTimeout: 60_000 }), { customTqlTimeout: null }))).toBe('allowed');
    }
  });

  it.each([0, -5, 3_600_001, 1.5, Number.NaN, '600' as unknown as number])('a customTqlTimeout of %p is refused with 400', (value) => {
    expect(outcome(ADMIN, update(stored(), { customTqlTimeout: value }))).toBe('400 user.custom_tql_timeout_invalid');
  });

  it('customTqlTimeout takes 1 to 3,600,000 ms', () => {
    expect(outcome(ADMIN, update(stored(), { customTqlTimeout: 1 }))).toBe('allowed');
    expect(outcome(ADMIN, update(stored(), { customTqlTimeout: 3_600_000 }))).toBe('allowed');
    expect(errorOf(ADMIN, update(stored(), { customTqlTimeout: 0 })).message).toMatch(/from 1 to 3,600,000/);
  });

  it('authority comes first: org admin with an out-of-range value gets 403', () => {
    expect(outcome(ORG_ADMIN, update(stored(), { customTqlTimeout: 0 }))).toBe('403 user.custom_tql_timeout_forbidden');
  });
});

describe('rule 7: termsOfServiceAcceptanceRequired', () => {
  const settingOn = { ...SETTINGS, termsOfServiceRequireNewUserToAccept: true };
  const settingOff = { ...SETTINGS, termsOfServiceRequireNewUserToAccept: false };

  it('anyone who may create users may create one with the instance default', () => {
    expect(outcome(ORG_ADMIN, create(newUser({}, settingOn)), settingOn)).toBe('allowed');
    expect(outcome(ORG_ADMIN, create(newUser({}, settingOff)), settingOff)).toBe('allowed');
  });

  it('org admin cannot create a user with a terms flag other than the default', () => {
    expect(outcome(ORG_ADMIN, create(newUser({ termsOfServiceAcceptanceRequired: false }, settingOn)), settingOn)).toBe('403 user.terms_flag_forbidden');
    expect(outcome(ORG_ADMIN, create(newUser({ termsOfServiceAcceptanceRequired: true }, settingOff)), settingOff)).toBe('403 user.terms_flag_forbidden');
  });

  it('org admin cannot change the terms flag on update', () => {
    const error = errorOf(ORG_ADMIN, update(stored(), { termsOfServiceAcceptanceRequired: true }), settingOn);
    expect(error.code).toBe('user.terms_flag_forbidden');
    expect(error.message).toMatch(/^only Administrators and Operations Administrators may change termsOfServiceAcceptanceRequired/);
    expect(outcome(ORG_ADMIN, update(stored({ termsOfServiceAcceptanceRequired: true }), { termsOfServiceAcceptanceRequired: false }), settingOn)).toBe(
      '403 user.terms_flag_forbidden',
    );
  });

  it('an admin may turn the terms flag on while the instance setting is on', () => {
    expect(outcome(ADMIN, update(stored(), { termsOfServiceAcceptanceRequired: true }), settingOn)).toBe('allowed');
    expect(outcome(OPS_ADMIN, create(newUser({ termsOfServiceAcceptanceRequired: false }, settingOn)), settingOn)).toBe('allowed');
  });

  it('terms flag cannot be turned on while the instance setting is off', () => {
    const error = errorOf(ADMIN, update(stored(), { termsOfServiceAcceptanceRequired: true }), settingOff);
    expect(error.kind).toBe('forbidden');
    expect(error.code).toBe('user.terms_flag_setting_off');
    expect(error.message).toMatch(/termsOfServiceRequireNewUserToAccept is on/);
    expect(outcome(ADMIN, create(newUser({ termsOfServiceAcceptanceRequired: true }, settingOff)), settingOff)).toBe('403 user.terms_flag_setting_off');
  });

  it('an admin may turn the terms flag off whatever the setting', () => {
    const flagged = stored({ termsOfServiceAcceptanceRequired: true });
    expect(outcome(ADMIN, update(flagged, { termsOfServiceAcceptanceRequired: false }), settingOff)).toBe('allowed');
  });

  it('org admin may edit a flagged user, leaving the flag as it is', () => {
    expect(outcome(ORG_ADMIN, update(stored({ termsOfServiceAcceptanceRequired: true }), { title: 'CTO' }), settingOff)).toBe('allowed');
  });
});

describe('rule 8: MFA', () => {
  const mfaRequired = { ...SETTINGS, twoFactorAuthenticationRequired: true };

  it('anyone who may edit the user may set or clear mfaResetRequired', () => {
    expect(outcome(ORG_ADMIN, update(stored(), { mfaResetRequired: true }))).toBe('allowed');
    expect(outcome(ORG_ADMIN, update(stored({ mfaResetRequired: true }), { mfaResetRequired: false }))).toBe('allowed');
    expect(outcome(ORG_ADMIN, create(newUser({ mfaResetRequired: true })))).toBe('allowed');
  });

  it('a reader cannot set mfaResetRequired', () => {
    expect(outcome(READER, update(stored(), { mfaResetRequired: true }))).toBe('403 user.manage_forbidden');
  });

  it('mfaEnabled cannot be turned off while MFA is required, not even by an Administrator', () => {
    const enrolled = stored({ mfaEnabled: true });
    const error = errorOf(ADMIN, update(enrolled, { mfaEnabled: false }), mfaRequired);
    expect(error.kind).toBe('forbidden');
    expect(error.code).toBe('user.mfa_required');
    expect(error.message).toMatch(/twoFactorAuthenticationRequired is on/);
  });

  it('mfaEnabled is read-only: turning it off while MFA is optional is a mutability error', () => {
    const error = errorOf(ADMIN, update(stored({ mfaEnabled: true }), { mfaEnabled: false }));
    expect(error.kind).toBe('mutability');
    expect(error.code).toBe('user.mfa_enabled_read_only');
  });

  it('mfaEnabled is read-only: turning it on is a mutability error, whatever the setting', () => {
    expect(outcome(ADMIN, update(stored(), { mfaEnabled: true }))).toBe('400 user.mfa_enabled_read_only');
    expect(outcome(ADMIN, update(stored(), { mfaEnabled: true }), mfaRequired)).toBe('400 user.mfa_enabled_read_only');
    expect(outcome(ADMIN, create(newUser({ mfaEnabled: true })))).toBe('400 user.mfa_enabled_read_only');
  });

  it('a request that repeats the stored mfaEnabled, or omits it, is allowed', () => {
    expect(outcome(ORG_ADMIN, update(stored({ mfaEnabled: true }), { mfaEnabled: true }), mfaRequired)).toBe('allowed');
    expect(outcome(ORG_ADMIN, update(stored({ mfaEnabled: true }), { displayName: 'x' }), mfaRequired)).toBe('allowed');
    expect(outcome(ORG_ADMIN, create(newUser({ mfaEnabled: false })), mfaRequired)).toBe('allowed');
  });
});

describe('rule 9: passwordResetRequired', () => {
  it('a new user cannot start with passwordResetRequired false', () => {
    const error = errorOf(ADMIN, create(newUser({ passwordResetRequired: false })));
    expect(error.kind).toBe('invalid_value');
    expect(error.code).toBe('user.password_reset_cannot_clear');
  });

  it('an update cannot clear passwordResetRequired', () => {
    expect(outcome(ADMIN, update(stored({ passwordResetRequired: true }), { passwordResetRequired: false }))).toBe('400 user.password_reset_cannot_clear');
  });

  it('an admin may require a password reset again, and an edit may leave it cleared', () => {
    const changedPassword = stored({ passwordResetRequired: false });
    expect(outcome(ORG_ADMIN, update(changedPassword, { passwordResetRequired: true }))).toBe('allowed');
    expect(outcome(ORG_ADMIN, update(changedPassword, { displayName: 'x' }))).toBe('allowed');
  });
});

describe('rule 11: locked', () => {
  it('a new user cannot be created locked', () => {
    expect(outcome(ADMIN, create(newUser({ locked: true })))).toBe('400 user.locked_set_by_platform');
  });

  it('an update cannot lock a user: the platform does', () => {
    const error = errorOf(ADMIN, update(stored(), { locked: true }));
    expect(error.kind).toBe('invalid_value');
    expect(error.code).toBe('user.locked_set_by_platform');
  });

  it('anyone who may edit the user can unlock it, or edit it while it stays locked', () => {
    const lockedOut = stored({ locked: true });
    expect(outcome(ORG_ADMIN, update(lockedOut, { locked: false }))).toBe('allowed');
    expect(outcome(ORG_ADMIN, update(lockedOut, { active: false }))).toBe('allowed');
  });
});

describe('API-user-only attributes', () => {
  it.each([
    ['tokenExpirationDays', 30],
    ['includeInObservations', true],
    ['includeInObservations', false],
    ['allowExceedApiLinkLimit', true],
  ] as const)('%s = %p is refused on a standard user', (attribute, value) => {
    const error = errorOf(ADMIN, create(newUser({ [attribute]: value })));
    expect(error.code).toBe('user.api_only_attribute');
    expect(error.message).toMatch(new RegExp(`^${attribute} applies only to API users`));
    expect(outcome(ADMIN, update(stored(), { [attribute]: value }))).toBe('400 user.api_only_attribute');
  });

  it('API users (Api User, Exchange Admin) may carry them', () => {
    const api = { tokenExpirationDays: 30, includeInObservations: true, allowExceedApiLinkLimit: false };
    expect(outcome(ORG_ADMIN, create(newUser({ systemRole: 'Api User', ...api })))).toBe('allowed');
    expect(outcome(ADMIN, create(newUser({ systemRole: 'Exchange Admin', ...api })))).toBe('allowed');
  });

  it('re-typing an API user to a standard user must clear them', () => {
    const apiUser = stored({ systemRole: 'Api User', tokenExpirationDays: 30 });
    expect(outcome(ORG_ADMIN, update(apiUser, { systemRole: 'User' }))).toBe('400 user.api_only_attribute');
    expect(outcome(ORG_ADMIN, update(apiUser, { systemRole: 'User', tokenExpirationDays: null }))).toBe('allowed');
  });

  it.each([0, 3651, 2.5])('a tokenExpirationDays of %p is refused', (value) => {
    const apiUser = stored({ systemRole: 'Api User' });
    expect(outcome(ORG_ADMIN, update(apiUser, { tokenExpirationDays: value }))).toBe('400 user.token_expiration_days_invalid');
  });

  it('tokenExpirationDays takes 1 to 3650', () => {
    const apiUser = stored({ systemRole: 'Api User' });
    expect(outcome(ORG_ADMIN, update(apiUser, { tokenExpirationDays: 1 }))).toBe('allowed');
    expect(outcome(ORG_ADMIN, update(apiUser, { tokenExpirationDays: 3650 }))).toBe('allowed');
  });
});

describe('ranges and formats', () => {
  it.each([0, 43_201, 1.5])('a logoutAfterMinutes of %p is refused', (value) => {
    expect(outcome(ORG_ADMIN, create(newUser({ logoutAfterMinutes: value })))).toBe('400 user.logout_after_minutes_invalid');
  });

  it('logoutAfterMinutes takes 1 to 43,200, or null', () => {
    for (const value of [1, 43_200, null])
      expect(outcome(ORG_ADMIN, update(stored({ logoutAfterMinutes: 60 }), { logoutAfterMinutes: value }))).toBe('allowed');
  });

  it.each(['00:00', '07:30', '23:59'])('summaryEmailTime %p is accepted', (value) => {
    expect(outcome(ORG_ADMIN, update(stored(), { summaryEmailTime: value }))).toBe('allowed');
  });

  it.each(['24:00', '7:30', '07:60', '0730', '07:30:00', ''])('summaryEmailTime %p is refused', (value) => {
    expect(outcome(ORG_ADMIN, update(stored(), { summaryEmailTime: value }))).toBe('400 user.summary_email_time_invalid');
  });

  it.each(['Europe/Berlin', 'America/New_York', 'UTC'])('timezone %p is accepted', (value) => {
    expect(outcome(ORG_ADMIN, create(newUser({ timezone: value })))).toBe('allowed');
  });

  it.each(['Mars/Olympus_Mons', '+05:00', '', 'not a zone'])('timezone %p is refused', (value) => {
    expect(outcome(ORG_ADMIN, create(newUser({ timezone: value })))).toBe('400 user.timezone_invalid');
  });

  it('values already stored are not checked again by an edit that does not touch them', () => {
    const legacy = stored({ logoutAfterMinutes: 99_999, summaryEmailTime: '7:30', timezone: 'Nowhere/Land' });
    expect(outcome(ORG_ADMIN, update(legacy, { displayName: 'x' }))).toBe('allowed');
  });

  it('authority rules come before value rules', () => {
    expect(outcome(ORG_ADMIN, create(newUser({ customTqlTimeout: 5, locked: true, timezone: 'x' })))).toBe('403 user.custom_tql_timeout_forbidden');
    expect(outcome(ADMIN, create(newUser({ locked: true, passwordResetRequired: false })))).toBe('400 user.password_reset_cannot_clear');
  });
});

describe('exported helpers', () => {
  it('IMPLIED_SYSTEM_ROLES maps account types to User, Api User and Read Only User', () => {
    expect(IMPLIED_SYSTEM_ROLES).toEqual({ standard: 'User', api: 'Api User', readOnly: 'Read Only User' });
  });

  it.each(ALL_SYSTEM_ROLES)('maySetSystemRoles for %s', (role) => {
    expect(maySetSystemRoles(actor(role, 'Organization Administrator'))).toBe(role === 'Administrator' || role === 'Operations Administrator');
  });
});

// ---------------------------------------------------------------------------------
// 3. Groups
// ---------------------------------------------------------------------------------

describe('authorizeGroupChange: the authority of rule 1, in the actor organization only', () => {
  function groupOracle(systemRole: SystemRole, organizationRole: OrganizationRole, deployment: DeploymentType, organization: 'same' | 'other') {
    if (organization === 'other') return '404 group.not_found';
    const mayManage =
      organizationRole === 'Organization Administrator' ||
      ['Administrator', 'Operations Administrator', 'Super User'].includes(systemRole) ||
      (systemRole === 'Accounts Administrator' && deployment !== 'cloud');
    return mayManage ? 'allowed' : '403 group.manage_forbidden';
  }

  const rows = ALL_SYSTEM_ROLES.flatMap((systemRole) =>
    ALL_ORGANIZATION_ROLES.flatMap((organizationRole) => DEPLOYMENTS.map((deployment) => [systemRole, organizationRole, deployment] as const)),
  );

  it.each(rows)('actor %s / %s on %s', (systemRole, organizationRole, deployment) => {
    const who = actor(systemRole, organizationRole);
    const settings = { ...SETTINGS, deploymentType: deployment };
    for (const organization of ['same', 'other'] as const) {
      const got = groupOutcome(who, organization === 'same' ? OUR_ORG : OTHER_ORG, settings);
      expect(`${organization} organization: ${got}`).toBe(
        `${organization} organization: ${groupOracle(systemRole, organizationRole, deployment, organization)}`,
      );
    }
  });

  it('a refusal says managing groups needs the authority to manage users', () => {
    try {
      authorizeGroupChange(READER, SETTINGS, OUR_ORG);
      throw new Error('allowed');
    } catch (error) {
      expect((error as Error).message).toMatch(/may only read groups .*managing user groups needs the same authority as managing users/);
    }
  });
});
