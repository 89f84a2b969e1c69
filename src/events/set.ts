import { randomUUID } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';
import type { StoredEvent } from '../domain/events';
import type { SigningKey } from '../domain/signing';
import { privateKeyOf } from './keys';
import { carriesAttributes, fullFormOf, SUPPORTED_EVENT_URIS } from './uris';

/** RFC 8417 section 2.3: the `typ` of a SET's JOSE header. */
export const SET_TYPE = 'secevent+jwt';

/** One provisioning change as the outbox records it (the domain's StoredEvent): ids and attribute names only; `txn` absent means the event id. */
export type OutboxEvent = StoredEvent;

export interface SetOptions {
  /** `iss`: the service's base URL. */
  issuer: string;
  /** `aud`: the receiver (its feed or stream URL). */
  audience: string | string[];
  /** The key to sign with (the active one, or a retired one still published). */
  key: SigningKey;
  /** When the SET is issued (`iat`); now by default. */
  now?: Date;
  /**
   * The full form (RFC 9967 section 2.4): a notice of an event that carries the
   * resource (`event.resource`) becomes `…:full` with the resource as `data`, in place
   * of the attribute names. Events without a resource keep the notice form.
   */
  full?: boolean;
  /**
   * The SET's `jti`; a random UUID by default (push: a retransmission gets a new one).
   * Poll delivery (RFC 8936) passes one stable per event: the receiver acknowledges it.
   */
  jti?: string;
}

const ENDPOINTS = { User: '/Users', Group: '/Groups' } as const;

/** RFC 9493 `sub_id` in RFC 9967's "scim" format: the resource's path under the SCIM base URL, and its id. */
export function scimSubjectId(event: Pick<OutboxEvent, 'resourceType' | 'resourceId'>): { format: 'scim'; uri: string; id: string } {
  return { format: 'scim', uri: `${ENDPOINTS[event.resourceType]}/${event.resourceId}`, id: event.resourceId };
}

/**
 * The claims of the SET for an outbox event (RFC 8417 section 2.2, RFC 9967 section
 * 2): iss, iat, jti (unique per SET: a retransmission gets a new one, unless `jti` is given), aud, txn (the
 * same across every SET of one change), toe (when the change happened), sub_id and
 * events. A notice's payload is `{ attributes }`; delete, activate and deactivate
 * carry `{}`. No attribute value is included, except in the full form (`full`), which
 * only a receiver registered with `--full` gets.
 */
export function setClaims(event: OutboxEvent, options: Omit<SetOptions, 'key'>): JWTPayload {
  if (event.eventUris.length === 0) throw new Error(`outbox event ${event.id} names no event`);
  const events: Record<string, Record<string, unknown>> = {};
  for (const uri of event.eventUris) {
    if (!SUPPORTED_EVENT_URIS.includes(uri)) throw new Error(`unsupported SCIM event URI: ${uri}`);
    if (!carriesAttributes(uri)) events[uri] = {};
    else if (options.full && event.resource !== undefined) events[fullFormOf(uri)] = { data: JSON.parse(event.resource) as unknown };
    else events[uri] = { attributes: [...event.attributes] };
  }
  return {
    iss: options.issuer,
    iat: Math.floor((options.now ?? new Date()).getTime() / 1000),
    jti: options.jti ?? randomUUID(),
    aud: options.audience,
    txn: event.txn ?? event.id,
    toe: Math.floor(event.createdAt.getTime() / 1000),
    sub_id: scimSubjectId(event),
    events,
  };
}

/** The SET for an outbox event, signed as a compact JWS (ES256, the key's kid, typ secevent+jwt). */
export async function buildSet(event: OutboxEvent, options: SetOptions): Promise<string> {
  return new SignJWT(setClaims(event, options))
    .setProtectedHeader({ alg: options.key.algorithm, kid: options.key.kid, typ: SET_TYPE })
    .sign(await privateKeyOf(options.key));
}
