/** System and organization roles of DOMAIN.md. Rank decides who may act on whom. */
export const SYSTEM_ROLES = [
  'Administrator',
  'Operations Administrator',
  'Accounts Administrator',
  'Community Leader',
  'Super User',
  'User',
  'Read Only User',
  'Api User',
  'Exchange Admin',
  'Taxii User',
] as const;
export type SystemRole = (typeof SYSTEM_ROLES)[number];

export const SYSTEM_ROLE_RANK: Record<SystemRole, number> = {
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

export const ORGANIZATION_ROLES = [
  'Organization Administrator',
  'Sharing User',
  'Standard User',
  'App Developer',
  'Read Only Commenter',
  'Read Only User',
] as const;
export type OrganizationRole = (typeof ORGANIZATION_ROLES)[number];

/** The account type a system role implies. */
export type AccountType = 'standard' | 'api' | 'taxii' | 'readOnly';

export function accountTypeOf(role: SystemRole): AccountType {
  switch (role) {
    case 'Api User':
    case 'Exchange Admin':
      return 'api';
    case 'Taxii User':
      return 'taxii';
    case 'Read Only User':
      return 'readOnly';
    default:
      return 'standard';
  }
}

/** Canonical spelling of a role given in any case, or undefined when it is no role. */
export function systemRoleNamed(name: string): SystemRole | undefined {
  const wanted = name.trim().toLowerCase();
  return SYSTEM_ROLES.find((r) => r.toLowerCase() === wanted);
}

export function organizationRoleNamed(name: string): OrganizationRole | undefined {
  const wanted = name.trim().toLowerCase();
  return ORGANIZATION_ROLES.find((r) => r.toLowerCase() === wanted);
}

/**
 * Which role wins when a user's groups grant several (docs/roles.md, "Roles from
 * groups"), most privileged first; the first wins. Organization roles in the order of
 * rule 14 (ORGANIZATION_ROLES). System roles by rank, and among roles of one rank in
 * the order of SYSTEM_ROLES (Community Leader before Super User; User, Read Only User,
 * Api User, Exchange Admin, Taxii User). The store receives these lists as they are.
 */
export const ORGANIZATION_ROLE_PRECEDENCE: readonly OrganizationRole[] = [...ORGANIZATION_ROLES];
export const SYSTEM_ROLE_PRECEDENCE: readonly SystemRole[] = [...SYSTEM_ROLES].sort(
  (a, b) => SYSTEM_ROLE_RANK[b] - SYSTEM_ROLE_RANK[a] || SYSTEM_ROLES.indexOf(a) - SYSTEM_ROLES.indexOf(b),
);
