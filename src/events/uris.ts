/**
 * The SCIM event URIs of RFC 9967 section 2.4 that Roster issues: provisioning
 * notices only (ids and changed attribute names, never the resource itself: no
 * `:full` events, which would carry personal data).
 */
export const PROV = 'urn:ietf:params:scim:event:prov';

export const EVENT_URIS = {
  create: `${PROV}:create:notice`,
  put: `${PROV}:put:notice`,
  patch: `${PROV}:patch:notice`,
  delete: `${PROV}:delete`,
  activate: `${PROV}:activate`,
  deactivate: `${PROV}:deactivate`,
} as const;

/** Every event URI Roster can issue, as ServiceProviderConfig's `securityEvents.eventUris` lists them. */
export const SUPPORTED_EVENT_URIS: readonly string[] = Object.values(EVENT_URIS);

/** Events whose payload lists the changed attributes (`…:notice`); the others carry an empty object. */
export function carriesAttributes(uri: string): boolean {
  return uri.endsWith(':notice');
}
