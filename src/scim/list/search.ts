import { invalidSyntax, invalidValue } from '../http/errors';

/** Query parameters of a list, from the URL or from a SearchRequest body. */
export type QueryParams = Record<string, unknown>;

export const SEARCH_REQUEST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';

const STRING_FIELDS = ['filter', 'sortBy', 'sortOrder', 'cursor'];
const NUMBER_FIELDS = ['startIndex', 'count'];
const LIST_FIELDS = ['attributes', 'excludedAttributes'];

/**
 * A `POST .../.search` body (RFC 7644 section 3.4.3) as the same parameters a GET
 * takes, so both go through one parser and one query.
 */
export function searchParams(body: unknown): QueryParams {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw invalidSyntax('search.body_not_object', 'the request body must be a SearchRequest JSON object');
  }
  const request = body as Record<string, unknown>;
  const schemas = Array.isArray(request.schemas) ? request.schemas : [];
  if (!schemas.includes(SEARCH_REQUEST_SCHEMA)) throw invalidSyntax('search.schemas_invalid', `schemas must be ["${SEARCH_REQUEST_SCHEMA}"]`);
  const params: QueryParams = {};
  for (const [key, value] of Object.entries(request)) {
    if (key === 'schemas' || value === undefined || value === null) continue;
    if (STRING_FIELDS.includes(key)) {
      if (typeof value !== 'string') throw invalidValue('search.string_expected', `${key} must be a string`);
      params[key] = value;
    } else if (NUMBER_FIELDS.includes(key)) {
      if (typeof value !== 'number' || !Number.isInteger(value)) throw invalidValue('search.integer_expected', `${key} must be an integer`);
      params[key] = BigInt(value).toString(); // all its digits: String(1e21) is "1e+21"
    } else if (LIST_FIELDS.includes(key)) {
      const items = Array.isArray(value) ? value : [value];
      if (!items.every((v) => typeof v === 'string')) throw invalidValue('search.attribute_list_expected', `${key} must be a list of attribute names`);
      params[key] = items.join(',');
    } else {
      throw invalidSyntax('search.attribute_unknown', `unknown SearchRequest attribute "${key}"`);
    }
  }
  return params;
}
