/**
 * A SCIM filter (RFC 7644 section 3.4.2.2) as a tree. The SCIM adapter parses the
 * query string into this shape; the persistence adapter translates it into SQL. The
 * domain only carries it from one to the other, scoped to the caller's organization.
 */
export type CompareOperator = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';

export type FilterValue = string | number | boolean | null;

/**
 * An attribute path as written in the filter. `schema` is the URN prefix when the
 * client qualified the name (`urn:...:enterprise:2.0:User:employeeNumber`). Names keep
 * the client's spelling; matching them against the schema is case-insensitive.
 */
export interface AttributePath {
  schema?: string;
  attribute: string;
  subAttribute?: string;
}

export type Filter =
  | { kind: 'compare'; path: AttributePath; op: CompareOperator; value: FilterValue }
  | { kind: 'present'; path: AttributePath }
  | { kind: 'and'; left: Filter; right: Filter }
  | { kind: 'or'; left: Filter; right: Filter }
  | { kind: 'not'; filter: Filter }
  /** `emails[type eq "work" and value co "@x"]`: `filter` paths are relative to one element. */
  | { kind: 'valuePath'; path: AttributePath; filter: Filter };
