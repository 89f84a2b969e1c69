import { EVENT_URIS } from '../domain/events';

/**
 * The SCIM event URIs of RFC 9967 section 2.4 that Roster issues. The outbox stores
 * the notice form (the domain's EVENT_URIS: ids and changed attribute names, no
 * personal data); a receiver registered with `--full` gets a user's create, put and
 * patch in the full form instead (`…:full`, the resource as `data`).
 */

/** The event URIs the outbox stores, and the ones `receiver add --events` takes. */
export const SUPPORTED_EVENT_URIS: readonly string[] = Object.values(EVENT_URIS);

/** A notice URI's full-form twin: `…:create:notice` → `…:create:full`. */
export const fullFormOf = (uri: string): string => uri.replace(/:notice$/, ':full');

/** Every event URI Roster can issue, as ServiceProviderConfig's `securityEvents.eventUris` lists them. */
export const ISSUED_EVENT_URIS: readonly string[] = [...SUPPORTED_EVENT_URIS, ...SUPPORTED_EVENT_URIS.filter((uri) => uri.endsWith(':notice')).map(fullFormOf)];

/** Events whose payload lists the changed attributes (`…:notice`); the others carry an empty object. */
export function carriesAttributes(uri: string): boolean {
  return uri.endsWith(':notice');
}
