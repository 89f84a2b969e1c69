/**
 * What the bare baselines (`baseline-server.ts`, Express; `baseline-http.ts`, node:http)
 * share: the one query of scenario 1 and the small SCIM ListResponse they render from it,
 * so the two differ only in the HTTP layer.
 */
export const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const USER_BY_NAME = 'select * from users where lower(user_name) = lower($1) and organization_id = $2';
export const eq = /^\s*(userName|displayName)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$/i;

export type Row = Record<string, unknown>;

export function listResponse(resources: unknown[]): string {
  return JSON.stringify({ schemas: [LIST], totalResults: resources.length, startIndex: 1, itemsPerPage: resources.length, Resources: resources });
}

export function userResource(u: Row): Record<string, unknown> {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    id: u.id,
    externalId: u.external_id,
    userName: u.user_name,
    name: { formatted: u.name_formatted, familyName: u.name_family_name, givenName: u.name_given_name },
    displayName: u.display_name,
    title: u.title,
    active: u.active,
    emails: u.emails,
    meta: { resourceType: 'User', version: `W/"${String(u.version)}"`, location: `/scim/v2/Users/${String(u.id)}` },
  };
}

/** The userName of a `userName eq "…"` filter, or undefined for any other filter. */
export function userNameFilter(filter: string): string | undefined {
  const match = eq.exec(filter);
  if (!match || match[1]?.toLowerCase() !== 'username') return undefined;
  return JSON.parse(`"${match[2]}"`) as string;
}
