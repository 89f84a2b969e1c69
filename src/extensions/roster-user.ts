import SCIMMY from 'scimmy';
import { ORGANIZATION_ROLES, SYSTEM_ROLES } from '../domain/roles';

export const ROSTER_USER_SCHEMA = 'urn:ietf:params:scim:schemas:extension:roster:2.0:User';

const { Attribute, SchemaDefinition } = SCIMMY.Types;

/**
 * Roster's User extension: the platform's account settings (roles, query timeout,
 * lock, MFA and terms flags, API-user settings), declared once and used for
 * validation, discovery and filtering.
 */
export const rosterUserExtension = new SchemaDefinition(
  'RosterUser',
  ROSTER_USER_SCHEMA,
  "Roster's account settings of a threat-intelligence platform user",
  [
    new Attribute('string', 'systemRole', {
      canonicalValues: [...SYSTEM_ROLES],
      description: 'The system role; rank decides who may act on whom.',
    }),
    new Attribute('string', 'organizationRole', {
      canonicalValues: [...ORGANIZATION_ROLES],
      description: "The role within the user's organization.",
    }),
    new Attribute('string', 'accountType', {
      mutable: false,
      canonicalValues: ['standard', 'api', 'taxii', 'readOnly'],
      description: 'Derived from the system role.',
    }),
    new Attribute('integer', 'customTqlTimeout', {
      description: 'Query timeout in ms, 1 to 3,600,000; absent means the instance default.',
    }),
    new Attribute('boolean', 'locked', { description: 'Set by the platform after failed sign-ins; an admin may clear it.' }),
    new Attribute('boolean', 'passwordResetRequired', { description: 'The user must change the password at next sign-in.' }),
    new Attribute('boolean', 'mfaEnabled', { mutable: false, description: "Reflects the user's own MFA enrolment." }),
    new Attribute('boolean', 'mfaResetRequired', { description: 'The user must enrol MFA again.' }),
    new Attribute('boolean', 'termsOfServiceAcceptanceRequired', { description: 'The user must accept the terms of service.' }),
    new Attribute('integer', 'logoutAfterMinutes', { description: 'Idle minutes before the session ends.' }),
    new Attribute('string', 'summaryEmailTime', { description: 'Time of the daily summary email, HH:MM.' }),
    new Attribute('integer', 'tokenExpirationDays', { description: 'API users only: days an API token lives.' }),
    new Attribute('boolean', 'includeInObservations', { description: 'API users only.' }),
    new Attribute('boolean', 'allowExceedApiLinkLimit', { description: 'API users only.' }),
  ],
);
