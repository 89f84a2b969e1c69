import { LIST_RESPONSE_SCHEMA } from '../schema/scimmy';

/**
 * A ListResponse built from a page the database already cut: Resources are exactly
 * the rows asked for (scimmy's ListResponse would cut the page a second time).
 */
export function listResponse(resources: unknown[], totalResults: number, startIndex: number) {
  return {
    schemas: [LIST_RESPONSE_SCHEMA],
    totalResults,
    startIndex,
    itemsPerPage: resources.length,
    Resources: resources,
  };
}

/** A ListResponse of a cursor-paged list (RFC 9865): no startIndex, a nextCursor unless last. */
export function cursorListResponse(resources: unknown[], totalResults: number, next: string | undefined) {
  return {
    schemas: [LIST_RESPONSE_SCHEMA],
    totalResults,
    itemsPerPage: resources.length,
    ...(next !== undefined ? { nextCursor: next } : {}),
    Resources: resources,
  };
}

/**
 * A ListResponse's text with its Resources given as JSON texts (rendered by the
 * store): the envelope is serialised and the resources are joined into it as they are.
 */
export function listResponseText(response: { Resources: unknown[] }): string {
  const { Resources: resources, ...envelope } = response;
  const head = JSON.stringify(envelope);
  return `${head.slice(0, -1)},"Resources":[${resources.join(',')}]}`;
}
