import { randomUUID } from 'node:crypto';

/**
 * A new user's or group's id: a UUID version 7 (RFC 9562, section 5.7), the time in
 * milliseconds in its first 48 bits, then 74 random bits (from `randomUUID`'s).
 *
 * Ids made one after another are neighbours in the primary key: a create appends to the
 * index's newest pages rather than writing into a random one of all of them (with a full
 * page image of each after a checkpoint), and the users an initial sync created together
 * stay together for a later write of many of them (a group's mapping). Measured in
 * docs/benchmarks.md. The id says when the resource was created, as `meta.created` does;
 * it is no secret either way (tenancy, not the id, keeps organizations apart).
 */
export function newId(now = Date.now()): string {
  const time = Math.trunc(now).toString(16).padStart(12, '0');
  // randomUUID: xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx, V the variant already: keep all after its version digit.
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${randomUUID().slice(15)}`;
}
