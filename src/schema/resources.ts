import { ORGANIZATION_ROLES, SYSTEM_ROLES } from '../domain/roles';
import { attribute, column, derived, json, relation, type AttributeDefinition, type ResourceSpec, type SchemaSpec } from './registry';

/**
 * User and Group, their extensions, and where each attribute lives: the registry's
 * entries (see ./registry). Attributes are listed in the order resources show them.
 */
export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE_USER_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const ROSTER_USER_SCHEMA = 'urn:ietf:params:scim:schemas:extension:roster:2.0:User';

const text = (name: string) => column(name, 'text');
const readOnly = { mutability: 'readOnly', caseExact: true } as const;

/** `meta` (RFC 7643 section 3.1), kept by the store. */
const meta = attribute('meta', 'complex', derived, {
  mutability: 'readOnly',
  required: true,
  subAttributes: [
    attribute('resourceType', 'string', derived, { ...readOnly, required: true }),
    attribute('created', 'dateTime', derived, { mutability: 'readOnly' }),
    attribute('lastModified', 'dateTime', derived, { mutability: 'readOnly' }),
    attribute('location', 'string', derived, { mutability: 'readOnly', filterable: false }),
    attribute('version', 'string', derived, { mutability: 'readOnly', comparedExactly: true }),
  ],
});

const id = attribute('id', 'string', derived, { ...readOnly, returned: 'always', required: true, uniqueness: 'global' });
const externalId = (name: string) => attribute('externalId', 'string', text(name), { caseExact: true });

/** The four sub-attributes most multi-valued attributes share (RFC 7643 section 2.4). */
function typedElements(name: string, types: readonly string[], value: AttributeDefinition = attribute('value', 'string', json())) {
  return attribute(
    name,
    'complex',
    column(
      name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`),
      'jsonb',
      { nullable: false, default: `'[]'::jsonb` },
    ),
    {
      multiValued: true,
      subAttributes: [
        value,
        attribute('display', 'string', json()),
        attribute('type', 'string', json(), { canonicalValues: types }),
        attribute('primary', 'boolean', json()),
      ],
    },
  );
}

const nameParts = ['formatted', 'familyName', 'givenName', 'middleName', 'honorificPrefix', 'honorificSuffix'];

const userCore: SchemaSpec = {
  id: USER_SCHEMA,
  name: 'User',
  description: 'User Account',
  attributes: [
    id,
    externalId('external_id'),
    attribute('userName', 'string', column('user_name', 'text', { nullable: false }), { required: true, uniqueness: 'server' }),
    attribute(
      'name',
      'complex',
      { kind: 'columns' },
      {
        subAttributes: nameParts.map((part) => attribute(part, 'string', text(`name_${part.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`))),
      },
    ),
    attribute('displayName', 'string', text('display_name')),
    attribute('nickName', 'string', text('nick_name')),
    attribute('profileUrl', 'reference', text('profile_url'), { referenceTypes: ['external'] }),
    attribute('title', 'string', text('title')),
    attribute('userType', 'string', text('user_type')),
    attribute('preferredLanguage', 'string', text('preferred_language')),
    attribute('locale', 'string', text('locale')),
    attribute('timezone', 'string', text('timezone')),
    attribute('active', 'boolean', column('active', 'boolean', { nullable: false, default: 'true' })),
    attribute('password', 'string', { kind: 'secret' }, { mutability: 'writeOnly', returned: 'never' }),
    typedElements('emails', ['work', 'home', 'other']),
    typedElements('phoneNumbers', ['work', 'home', 'mobile', 'fax', 'pager', 'other']),
    typedElements('ims', ['aim', 'gtalk', 'icq', 'xmpp', 'msn', 'skype', 'qq', 'yahoo']),
    typedElements('photos', ['photo', 'thumbnail'], attribute('value', 'reference', json(), { referenceTypes: ['external'] })),
    attribute('addresses', 'complex', column('addresses', 'jsonb', { nullable: false, default: `'[]'::jsonb` }), {
      multiValued: true,
      subAttributes: [
        ...['formatted', 'streetAddress', 'locality', 'region', 'postalCode', 'country'].map((part) => attribute(part, 'string', json())),
        attribute('type', 'string', json(), { canonicalValues: ['work', 'home', 'other'] }),
        attribute('primary', 'boolean', json()),
      ],
    }),
    typedElements('entitlements', []),
    typedElements('roles', []),
    typedElements('x509Certificates', [], attribute('value', 'binary', json(), { caseExact: true })),
    attribute('groups', 'complex', relation, {
      multiValued: true,
      mutability: 'readOnly',
      subAttributes: [
        attribute('value', 'string', relation, { mutability: 'readOnly', comparedExactly: true }),
        attribute('$ref', 'reference', relation, { mutability: 'readOnly', referenceTypes: ['User', 'Group'], filterable: false }),
        attribute('display', 'string', relation, { mutability: 'readOnly' }),
        attribute('type', 'string', relation, { mutability: 'readOnly', canonicalValues: ['direct', 'indirect'] }),
      ],
    }),
    meta,
  ],
};

const enterprise: SchemaSpec = {
  id: ENTERPRISE_USER_SCHEMA,
  name: 'EnterpriseUser',
  description: 'Enterprise User',
  jsonColumn: 'enterprise',
  field: 'enterprise',
  attributes: [
    ...['employeeNumber', 'costCenter', 'organization', 'division', 'department'].map((name) => attribute(name, 'string', json(name))),
    attribute('manager', 'complex', json('manager'), {
      subAttributes: [
        attribute('value', 'string', json('manager', 'value'), { comparedExactly: true }),
        attribute('$ref', 'reference', json('manager', '$ref'), { referenceTypes: ['User'], filterable: false }),
        attribute('displayName', 'string', json('manager', 'displayName'), { mutability: 'readOnly' }),
      ],
    }),
  ],
};

const flag = (name: string, columnName: string, fallback: boolean, description: string, options: Partial<AttributeDefinition> = {}) =>
  attribute(name, 'boolean', column(columnName, 'boolean', { nullable: false, default: String(fallback) }), { description, ...options });

/** Roster's account settings of a platform user (DOMAIN.md; docs/roster-extension.md lists them). */
const roster: SchemaSpec = {
  id: ROSTER_USER_SCHEMA,
  name: 'RosterUser',
  description: "Roster's account settings of a threat-intelligence platform user",
  attributes: [
    attribute('systemRole', 'string', column('system_role', 'text', { nullable: false }), {
      canonicalValues: SYSTEM_ROLES,
      canonicalEnforced: true,
      description: 'The system role; rank decides who may act on whom.',
    }),
    attribute('organizationRole', 'string', column('organization_role', 'text', { nullable: false }), {
      canonicalValues: ORGANIZATION_ROLES,
      canonicalEnforced: true,
      description: "The role within the user's organization.",
    }),
    attribute('accountType', 'string', derived, {
      mutability: 'readOnly',
      canonicalValues: ['standard', 'api', 'taxii', 'readOnly'],
      canonicalEnforced: true,
      description: 'Derived from the system role.',
    }),
    // Simple attributes, not one complex one: a client that sends back what it read (Okta's PUT) must not trip on a read-only complex value.
    attribute('systemRoleSource', 'string', derived, {
      mutability: 'readOnly',
      filterable: false,
      description: 'The displayName of the group whose mapping grants systemRole (docs/roles.md, "Roles from groups"); absent when it is set directly.',
    }),
    attribute('organizationRoleSource', 'string', derived, {
      mutability: 'readOnly',
      filterable: false,
      description: 'The displayName of the group whose mapping grants organizationRole; absent when it is set directly.',
    }),
    attribute('customTqlTimeout', 'integer', column('custom_tql_timeout', 'integer'), {
      description: 'Query timeout in ms, 1 to 3,600,000; absent means the instance default.',
    }),
    flag('locked', 'locked', false, 'Set by the platform after failed sign-ins; an admin may clear it.'),
    flag('passwordResetRequired', 'password_reset_required', true, 'The user must change the password at next sign-in.'),
    flag('mfaEnabled', 'mfa_enabled', false, "Reflects the user's own MFA enrolment.", { mutability: 'readOnly' }),
    flag('mfaResetRequired', 'mfa_reset_required', false, 'The user must enrol MFA again.'),
    flag('termsOfServiceAcceptanceRequired', 'terms_of_service_acceptance_required', false, 'The user must accept the terms of service.'),
    attribute('logoutAfterMinutes', 'integer', column('logout_after_minutes', 'integer'), { description: 'Idle minutes before the session ends.' }),
    attribute('summaryEmailTime', 'string', column('summary_email_time', 'text'), { description: 'Time of the daily summary email, HH:MM.' }),
    attribute('tokenExpirationDays', 'integer', column('token_expiration_days', 'integer'), { description: 'API users only: days an API token lives.' }),
    attribute('includeInObservations', 'boolean', column('include_in_observations', 'boolean'), { description: 'API users only.' }),
    attribute('allowExceedApiLinkLimit', 'boolean', column('allow_exceed_api_link_limit', 'boolean'), { description: 'API users only.' }),
    flag(
      'sendAccountInfoEmail',
      'send_account_info_email',
      false,
      'Read on create only: the platform sends the new user an e-mail with their account details.',
      {
        mutability: 'writeOnly',
        returned: 'never',
        createOnly: true,
        filterable: false,
      },
    ),
  ],
};

export const USER_RESOURCE: ResourceSpec = { name: 'User', endpoint: '/Users', table: 'users', core: userCore, extensions: [enterprise, roster] };

export const GROUP_RESOURCE: ResourceSpec = {
  name: 'Group',
  endpoint: '/Groups',
  table: 'groups',
  core: {
    id: GROUP_SCHEMA,
    name: 'Group',
    description: 'Group',
    attributes: [
      id,
      externalId('external_id'),
      attribute('displayName', 'string', column('display_name', 'text', { nullable: false }), { required: true }),
      attribute('members', 'complex', relation, {
        multiValued: true,
        subAttributes: [
          attribute('value', 'string', relation, { mutability: 'immutable', comparedExactly: true }),
          attribute('display', 'string', relation, { mutability: 'immutable' }),
          attribute('$ref', 'reference', relation, { mutability: 'immutable', referenceTypes: ['User', 'Group'], filterable: false }),
          attribute('type', 'string', relation, { mutability: 'immutable', canonicalValues: ['User', 'Group'] }),
        ],
      }),
      meta,
    ],
  },
  extensions: [],
};

export const ROSTER_EXTENSION: SchemaSpec = roster;
