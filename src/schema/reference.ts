import {
  API_ONLY_ATTRIBUTES,
  API_SYSTEM_ROLES,
  IMPLIED_SYSTEM_ROLES,
  INTEGER_RANGES,
  SYSTEM_ROLE_CHOOSERS,
  USER_MANAGING_ORGANIZATION_ROLE,
  USER_MANAGING_SYSTEM_ROLES,
} from '../domain/policy-rule-book';
import type { AttributeDefinition, SchemaSpec } from './registry';
import { GROUP_RESOURCE, ROSTER_EXTENSION, USER_RESOURCE } from './resources';

/**
 * The reference of the Roster extension (docs/roster-extension.md), written from the
 * attribute registry and the policy's constants: `npm run docs:reference` writes it,
 * test/unit/reference.test.ts fails when the file differs from what this returns.
 * Also the core User, enterprise and Group attributes, more briefly.
 */

const and = (items: readonly string[], last = 'and') =>
  items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} ${last} ${items[items.length - 1]}`;
const choosers = and(SYSTEM_ROLE_CHOOSERS.map((r) => `${r}s`));
const implied = and(Object.values(IMPLIED_SYSTEM_ROLES).map((r) => `\`${r}\``));
const managers =
  `an actor who may manage users (organization role ${USER_MANAGING_ORGANIZATION_ROLE}, or system role ` +
  `${and(USER_MANAGING_SYSTEM_ROLES, 'or')}, or Accounts Administrator on \`dedicated\` and \`onprem\`; rule 1)`;
/** Who "an editor of the user" is, said once at the top of the page. */
const editorsDefinition =
  `An **editor** of a user is ${managers}, acting on a user whose system role does not rank above its own (rule 2). ` +
  'Anything an editor may set is also checked against the ranges and formats of the rules.';
const anyManager = 'Any editor of the user.';
const apiOnly = `Only on API users (system role ${and(API_SYSTEM_ROLES, 'or')}); \`null\` for every other system role.`;

/**
 * Who may set each attribute of the Roster extension, by name, in the words of
 * docs/roles.md. Every attribute of ROSTER_EXTENSION must have an entry (the test checks it).
 */
export const WHO_MAY_SET: Readonly<Record<string, string>> = {
  systemRole:
    `${anyManager} ${choosers} may choose any system role up to their own rank (rules 3 and 4); ` +
    `every other editor may give only ${implied} (rule 4). Role pairs apply (rule 5); ` +
    'a change into another account type needs a free license seat (rule 10). ' +
    'While a group grants it (`systemRoleSource`), nobody over SCIM: a change is refused (`400 mutability`).',
  organizationRole:
    `${anyManager} Any organization role may be given; role pairs apply (rule 5). ` +
    'While a group grants it (`organizationRoleSource`), nobody over SCIM: a change is refused (`400 mutability`).',
  accountType: 'Nobody: derived from `systemRole`. A value sent is ignored.',
  systemRoleSource: 'Nobody: the group whose mapping grants `systemRole` (`roster group-roles`). A value sent is ignored.',
  organizationRoleSource: 'Nobody: the group whose mapping grants `organizationRole` (`roster group-roles`). A value sent is ignored.',
  customTqlTimeout: `Only ${choosers}, to set, change or clear it (rule 6).`,
  locked: `Nobody may set it: \`true\` is refused, the platform locks an account after failed sign-ins (rule 11). Clearing it: any editor of the user.`,
  passwordResetRequired:
    'Nobody may clear it: it is cleared when the user changes the password (rule 9). ' +
    'Setting it: any editor of the user. Setting a password through SCIM sets it too.',
  mfaEnabled: "Nobody: it reflects the user's own MFA enrolment (rule 8). Sending the stored value is accepted; another value is refused.",
  mfaResetRequired: 'Any editor of the user (rule 8).',
  termsOfServiceAcceptanceRequired:
    `Only ${choosers} may change it, and turn it on only while the instance setting ` +
    '`termsOfServiceRequireNewUserToAccept` is on (rule 7). A new user gets the value of that setting.',
  logoutAfterMinutes: anyManager,
  summaryEmailTime: anyManager,
  tokenExpirationDays: `${anyManager} ${apiOnly}`,
  includeInObservations: `${anyManager} ${apiOnly}`,
  allowExceedApiLinkLimit: `${anyManager} ${apiOnly}`,
  sendAccountInfoEmail: `${anyManager} Read from a create only (POST, Bulk POST); PUT and PATCH leave the stored value.`,
};

/** Values an attribute takes beyond its type: canonical values, integer ranges, formats. */
function allowedValues(a: AttributeDefinition): string {
  if (a.canonicalValues !== undefined && a.canonicalValues.length > 0) {
    const values = a.canonicalValues.map((v) => `\`${v}\``).join(', ');
    if (a.mutability === 'readOnly') return `one of ${values}`;
    return a.canonicalEnforced ? `one of ${values} (any letter case; stored as written here)` : `canonical: ${values} (not enforced)`;
  }
  const range = (INTEGER_RANGES as Record<string, { min: number; max: number; unit: string; whenNull: string }>)[a.name];
  if (range) return `${range.min.toLocaleString('en-US')} to ${range.max.toLocaleString('en-US')} (${range.unit}); \`null\`: ${range.whenNull}`;
  if (a.name === 'summaryEmailTime') return '`HH:MM`, 24-hour clock (`00:00` to `23:59`); `null`: not set';
  if (a.name === 'timezone') return 'an IANA time zone name (`Europe/Berlin`)';
  if (a.type === 'boolean') return (API_ONLY_ATTRIBUTES as readonly string[]).includes(a.name) ? '`true`, `false`, `null`' : '`true`, `false`';
  return '';
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const row = (cells: string[]) => `| ${cells.map(cell).join(' | ')} |`;

function rosterSection(schema: SchemaSpec): string[] {
  const lines = [
    `## ${schema.name}: \`${schema.id}\``,
    '',
    `${schema.description}. Every user carries this block; it is returned on every read (except write-only attributes).`,
    '',
    row(['attribute', 'type', 'mutability', 'returned', 'allowed values', 'description']),
    row(['---', '---', '---', '---', '---', '---']),
  ];
  for (const a of schema.attributes) {
    lines.push(row([`\`${a.name}\``, a.type, a.mutability, a.returned, allowedValues(a), a.description ?? '']));
  }
  lines.push('', '### Who may set each attribute', '', 'The rules are numbered as in [docs/roles.md](roles.md).', '');
  lines.push(row(['attribute', 'who may set it']), row(['---', '---']));
  for (const a of schema.attributes) {
    const who = WHO_MAY_SET[a.name];
    if (who === undefined) throw new Error(`WHO_MAY_SET has no entry for the Roster extension attribute ${a.name}`);
    lines.push(row([`\`${a.name}\``, who]));
  }
  return lines;
}

/** Every attribute and sub-attribute of a schema, one row each (`name.givenName`). */
function attributeRows(attributes: AttributeDefinition[], prefix = ''): string[] {
  return attributes.flatMap((a) => [
    row([`\`${prefix}${a.name}\``, a.multiValued ? `${a.type}, multi-valued` : a.type, a.mutability, a.returned, a.required ? 'yes' : 'no', allowedValues(a)]),
    ...attributeRows(a.subAttributes, `${prefix}${a.name}.`),
  ]);
}

function briefSection(schema: SchemaSpec, note: string): string[] {
  return [
    `## ${schema.name}: \`${schema.id}\``,
    '',
    note,
    '',
    row(['attribute', 'type', 'mutability', 'returned', 'required', 'allowed values']),
    row(['---', '---', '---', '---', '---', '---']),
    ...attributeRows(schema.attributes),
  ];
}

/** docs/roster-extension.md, as the registry describes it today. */
export function attributeReference(): string {
  const [enterprise] = USER_RESOURCE.extensions.filter((s) => s.id !== ROSTER_EXTENSION.id);
  const lines = [
    '# The Roster extension and the other attributes',
    '',
    '<!-- Generated by `npm run docs:reference` from src/schema/resources.ts and src/schema/reference.ts. Do not edit by hand. -->',
    '',
    'Every attribute Roster serves, as the attribute registry (`src/schema/resources.ts`) describes it: the same',
    'definitions build `/Schemas`, validate requests and map columns. The rules named here are in',
    '[docs/roles.md](roles.md). A change a rule refuses is a SCIM error whose `detail` names the rule.',
    '',
    editorsDefinition,
    '',
    ...rosterSection(ROSTER_EXTENSION),
    '',
    ...briefSection(
      USER_RESOURCE.core,
      `Core SCIM (RFC 7643 section 4.1). Who may set them: any editor of the user. \`password\` must meet the instance's password policy and is stored only as an argon2id hash.`,
    ),
    '',
    ...(enterprise
      ? [
          ...briefSection(
            enterprise,
            `RFC 7643 section 4.3. Who may set them: any editor of the user. \`manager.value\` must be the id of a user of the same organization.`,
          ),
          '',
        ]
      : []),
    ...briefSection(
      GROUP_RESOURCE.core,
      `Core SCIM (RFC 7643 section 4.2). Creating, changing and deleting groups takes ${managers}; a group may have members of any rank.`,
    ),
    '',
  ];
  return lines.join('\n');
}
