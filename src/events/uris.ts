import { EVENT_URIS } from '../domain/events';

/**
 * The SCIM event URIs of RFC 9967 section 2.4 that Roster issues (the domain's
 * EVENT_URIS): provisioning notices only (ids and changed attribute names, never the
 * resource itself: no `:full` events, which would carry personal data).
 */

/** Every event URI Roster can issue, as ServiceProviderConfig's `securityEvents.eventUris` lists them. */
export const SUPPORTED_EVENT_URIS: readonly string[] = Object.values(EVENT_URIS);

/** Events whose payload lists the changed attributes (`…:notice`); the others carry an empty object. */
export function carriesAttributes(uri: string): boolean {
  return uri.endsWith(':notice');
}
