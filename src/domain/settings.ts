import { invalidValue } from './errors';
import type { DeploymentType } from './policy';

/** The password policy new passwords must meet. */
export interface PasswordPolicy {
  minLength: number;
  maxLength: number;
  requireUppercase: boolean;
  requireLowercase: boolean;
  requireDigit: boolean;
  requireSymbol: boolean;
}

/** Instance-wide settings (DOMAIN.md "Instance"). */
export interface InstanceSettings {
  /** The system default query (TQL) timeout, ms. */
  tqlQueryTimeout: number;
  twoFactorAuthenticationRequired: boolean;
  termsOfServiceRequireNewUserToAccept: boolean;
  deploymentType: DeploymentType;
  passwordPolicy: PasswordPolicy;
}

export const DEFAULT_SETTINGS: InstanceSettings = {
  tqlQueryTimeout: 300_000,
  twoFactorAuthenticationRequired: false,
  termsOfServiceRequireNewUserToAccept: false,
  deploymentType: 'cloud',
  // Lenient by default: Okta sends a placeholder password such as "1mz050nq" on every
  // create, even without password sync, and a stricter default would refuse the user.
  passwordPolicy: {
    minLength: 8,
    maxLength: 128,
    requireUppercase: false,
    requireLowercase: false,
    requireDigit: false,
    requireSymbol: false,
  },
};

type Parser = (text: string) => unknown;

const bool: Parser = (text) => {
  const t = text.trim().toLowerCase();
  if (['true', 'on', 'yes', '1'].includes(t)) return true;
  if (['false', 'off', 'no', '0'].includes(t)) return false;
  throw new Error('must be true or false');
};

const int =
  (min: number, max: number): Parser =>
  (text) => {
    if (!/^\d+$/.test(text.trim()) || Number(text) < min || Number(text) > max) throw new Error(`must be a whole number from ${min} to ${max}`);
    return Number(text);
  };

/** Every settable key, dotted for the password policy, with how to read its value. */
export const SETTING_KEYS: Record<string, Parser> = {
  tqlQueryTimeout: int(1, 3_600_000),
  twoFactorAuthenticationRequired: bool,
  termsOfServiceRequireNewUserToAccept: bool,
  deploymentType: (text) => {
    if (!['cloud', 'dedicated', 'onprem'].includes(text.trim())) throw new Error('must be cloud, dedicated or onprem');
    return text.trim();
  },
  'passwordPolicy.minLength': int(8, 128),
  'passwordPolicy.maxLength': int(8, 1024),
  'passwordPolicy.requireUppercase': bool,
  'passwordPolicy.requireLowercase': bool,
  'passwordPolicy.requireDigit': bool,
  'passwordPolicy.requireSymbol': bool,
};

/** Reads a `settings set` value for a key; throws invalidValue naming the key. */
export function parseSetting(key: string, text: string): unknown {
  const parse = SETTING_KEYS[key];
  if (!parse) {
    throw invalidValue('settings.unknown_key', `unknown setting "${key}"; settings are: ${Object.keys(SETTING_KEYS).join(', ')}`);
  }
  try {
    return parse(text);
  } catch (error) {
    throw invalidValue('settings.invalid_value', `${key} ${(error as Error).message}`);
  }
}

/** Stored key/value rows over the defaults. */
export function settingsFrom(stored: Record<string, unknown>): InstanceSettings {
  const settings: InstanceSettings = structuredClone(DEFAULT_SETTINGS);
  for (const [key, value] of Object.entries(stored)) {
    if (!(key in SETTING_KEYS)) continue;
    if (key.startsWith('passwordPolicy.')) {
      (settings.passwordPolicy as unknown as Record<string, unknown>)[key.slice('passwordPolicy.'.length)] = value;
    } else {
      (settings as unknown as Record<string, unknown>)[key] = value;
    }
  }
  return settings;
}

/** Checks a new password against the policy; throws invalidValue saying what is missing. */
export function assertPasswordMeetsPolicy(password: string, policy: PasswordPolicy): void {
  const problems: string[] = [];
  if ([...password].length < policy.minLength) problems.push(`at least ${policy.minLength} characters`);
  if ([...password].length > policy.maxLength) problems.push(`at most ${policy.maxLength} characters`);
  if (policy.requireUppercase && !/\p{Lu}/u.test(password)) problems.push('an uppercase letter');
  if (policy.requireLowercase && !/\p{Ll}/u.test(password)) problems.push('a lowercase letter');
  if (policy.requireDigit && !/\p{Nd}/u.test(password)) problems.push('a digit');
  if (policy.requireSymbol && !/[^\p{L}\p{Nd}\s]/u.test(password)) problems.push('a symbol');
  if (problems.length > 0) {
    throw invalidValue('user.password_policy', `the password does not meet the password policy: it needs ${problems.join(', ')}`);
  }
}
