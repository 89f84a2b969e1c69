/**
 * Every resource, organization and credential id Roster makes is a UUID. PostgreSQL finds
 * one whatever its case (the `uuid` type), and anything else names nothing: a store checks
 * an id before it asks, so a malformed one is "not found", never a database error.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isUuid = (value: string): boolean => UUID.test(value);
