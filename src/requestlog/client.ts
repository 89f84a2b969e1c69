import type { RequestClient } from '../domain/request-log';

/**
 * Which identity provider sent a request, from its User-Agent: Okta sends
 * `Okta SCIM Client 1.0.0`; Microsoft Entra ID's provisioning service sends agents
 * naming Microsoft or Azure AD (`Microsoft.Azure.AD.Provisioning...`, `Azure AD SCIM ...`).
 * Anything else, or none, is `other`.
 */
export function clientOf(userAgent: string | undefined): RequestClient {
  if (userAgent === undefined || userAgent === '') return 'other';
  const agent = userAgent.slice(0, 512);
  if (/\bokta\b/i.test(agent)) return 'okta';
  if (/microsoft|azure[ .]?ad|\bentra\b|\baad\b/i.test(agent)) return 'entra';
  return 'other';
}
