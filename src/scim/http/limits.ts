/** Limits Roster advertises in /ServiceProviderConfig and enforces. */
export const MAX_RESULTS = 1000;
export const BULK_MAX_OPERATIONS = 1000;
export const BULK_MAX_PAYLOAD_BYTES = 1_048_576;
