import type { EventPollService } from '../domain/event-poll.service';
import type { EventAck } from '../domain/ports';
import type { SigningKeys } from './keys';
import { buildSet } from './set';

/** The path of poll delivery under the SCIM base URL (not a SCIM resource: POST only). */
export const POLL_PATH = '/Events/poll';

export const MAX_EVENTS_DEFAULT = 100;
export const MAX_EVENTS_LIMIT = 1000;
/** At most this many `ack` plus `setErrs` entries in one request. */
export const MAX_ACKS = 1000;

/** An RFC 8936 poll request, checked. */
export interface PollRequest {
  acks: EventAck[];
  maxEvents: number;
  returnImmediately: boolean;
}

/** An RFC 8936 poll response: SETs by jti, and whether more are waiting. */
export interface PollResponse {
  sets: Record<string, string>;
  moreAvailable: boolean;
}

/** A refused poll request: answered 400 with `{ err: "invalid_request", description }` (RFC 8936 section 2.4.4). */
export class PollRequestError extends Error {
  readonly err = 'invalid_request';
}

/**
 * A SET's jti in poll delivery: stable per event, so the receiver can acknowledge it
 * (`<organization id>.<event id>`).
 */
export function pollJti(organizationId: string, eventId: string): string {
  return `${organizationId}.${eventId}`;
}

/** The event id a jti names, when it is one of this organization's; undefined for anything else. */
export function eventIdOfJti(organizationId: string, jti: string): string | undefined {
  const prefix = `${organizationId}.`;
  if (!jti.startsWith(prefix)) return undefined;
  const id = jti.slice(prefix.length);
  return /^[1-9]\d{0,17}$/.test(id) ? id : undefined;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const refuse = (description: string): never => {
  throw new PollRequestError(description);
};
const MAX_TEXT = 1000;

function checkedText(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length > MAX_TEXT) refuse(`${what} must be a string of at most ${MAX_TEXT} characters`);
  return value as string;
}

function parseAcks(organizationId: string, body: Record<string, unknown>): EventAck[] {
  const ack = body.ack ?? [];
  if (!Array.isArray(ack)) refuse('"ack" must be an array of jti strings');
  const setErrs = body.setErrs ?? {};
  if (!isObject(setErrs)) refuse('"setErrs" must be an object whose members are jti: { err, description }');
  const errs = Object.entries(setErrs);
  if ((ack as unknown[]).length + errs.length > MAX_ACKS) refuse(`at most ${MAX_ACKS} acknowledgements in one request`);
  const acks: EventAck[] = [];
  for (const jti of ack as unknown[]) {
    const eventId = eventIdOfJti(organizationId, checkedText(jti, 'each "ack" entry'));
    if (eventId !== undefined) acks.push({ eventId });
  }
  for (const [jti, error] of errs) {
    if (!isObject(error)) refuse(`"setErrs" member ${JSON.stringify(jti.slice(0, 80))} must be an object { err, description }`);
    const entry = error as Record<string, unknown>;
    const err = checkedText(entry.err, '"setErrs" err');
    const description = entry.description === undefined ? undefined : checkedText(entry.description, '"setErrs" description');
    const eventId = eventIdOfJti(organizationId, jti);
    if (eventId !== undefined) acks.push({ eventId, error: { err, ...(description !== undefined ? { description } : {}) } });
  }
  return acks;
}

/**
 * Reads an RFC 8936 poll request: `ack` (jtis), `setErrs` (jti to { err, description }),
 * `maxEvents` (0 to 1000, default 100) and `returnImmediately` (default true). A jti
 * that is not one of this organization's is ignored (acknowledging it changes nothing).
 */
export function parsePollRequest(organizationId: string, body: unknown): PollRequest {
  if (!isObject(body)) refuse('the request body must be a JSON object');
  const request = body as Record<string, unknown>;
  const maxEvents = request.maxEvents ?? MAX_EVENTS_DEFAULT;
  if (typeof maxEvents !== 'number' || !Number.isInteger(maxEvents) || maxEvents < 0 || maxEvents > MAX_EVENTS_LIMIT) {
    refuse(`"maxEvents" must be an integer from 0 to ${MAX_EVENTS_LIMIT}`);
  }
  const returnImmediately = request.returnImmediately ?? true;
  if (typeof returnImmediately !== 'boolean') refuse('"returnImmediately" must be a boolean');
  return { acks: parseAcks(organizationId, request), maxEvents: maxEvents as number, returnImmediately: returnImmediately as boolean };
}

export interface PollerOptions {
  /** How long a poll with `returnImmediately: false` waits for an event (10 s). */
  waitMs?: number;
  /** How often it looks while waiting (250 ms). */
  intervalMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Poll delivery: an organization's unacknowledged events as SETs signed with the active key. */
export class SetPoller {
  private readonly waitMs: number;
  private readonly intervalMs: number;

  constructor(
    private readonly service: EventPollService,
    private readonly keys: SigningKeys,
    options: PollerOptions = {},
  ) {
    this.waitMs = options.waitMs ?? 10_000;
    this.intervalMs = options.intervalMs ?? 250;
  }

  /**
   * Acknowledges, then answers with the oldest unacknowledged events. With
   * `returnImmediately: false` and none waiting, looks again every `intervalMs` for up
   * to `waitMs` (or until `gone()` says the client left).
   */
  async poll(
    organizationId: string,
    request: PollRequest,
    claims: { issuer: string; audience: string },
    gone: () => boolean = () => false,
  ): Promise<PollResponse> {
    let polled = await this.service.poll(organizationId, request.acks, request.maxEvents);
    const until = Date.now() + this.waitMs;
    while (!request.returnImmediately && request.maxEvents > 0 && polled.events.length === 0 && Date.now() < until && !gone()) {
      await sleep(this.intervalMs);
      polled = await this.service.poll(organizationId, [], request.maxEvents);
    }
    const sets: Record<string, string> = {};
    if (polled.events.length > 0) {
      const key = await this.keys.ensureActive();
      for (const event of polled.events) {
        const jti = pollJti(organizationId, event.id);
        sets[jti] = await buildSet(event, { ...claims, key, jti });
      }
    }
    return { sets, moreAvailable: polled.moreAvailable };
  }
}
