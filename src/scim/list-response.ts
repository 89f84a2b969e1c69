import { LIST_RESPONSE_SCHEMA } from './scimmy';

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
