import { REQUEST_CLIENTS, type RequestClient, type RequestLogQuery } from '../domain/request-log';

/** A filter of the request log that does not parse; the message says what it takes. */
export class RequestLogQueryError extends Error {
  constructor(
    readonly option: 'since' | 'status' | 'client' | 'limit',
    message: string,
  ) {
    super(message);
    this.name = 'RequestLogQueryError';
  }
}

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 1_000;

/** The filters as text (the CLI's options, or the console's query string); undefined: not given. */
export interface RequestLogQueryText {
  since?: string;
  status?: string;
  client?: string;
  limit?: string;
}

/** `403` (one status, 100 to 599) or `4xx` (a class, 1xx to 5xx). */
export function parseStatus(text: string): { min: number; max: number } {
  const value = text.trim().toLowerCase();
  if (/^[1-5]xx$/.test(value)) {
    const hundred = Number(value[0]) * 100;
    return { min: hundred, max: hundred + 99 };
  }
  if (/^[1-5][0-9]{2}$/.test(value)) return { min: Number(value), max: Number(value) };
  throw new RequestLogQueryError('status', 'status takes a status such as 403, or a class: 4xx or 5xx');
}

export function parseClient(text: string): RequestClient {
  const value = text.trim().toLowerCase();
  if ((REQUEST_CLIENTS as readonly string[]).includes(value)) return value as RequestClient;
  throw new RequestLogQueryError('client', `client takes ${REQUEST_CLIENTS.join(', ')}`);
}

/** An ISO 8601 date or date-time (`2026-01-31`, `2026-01-31T08:00:00Z`); nothing else Date would guess at. */
export function parseSince(text: string): Date {
  const value = text.trim();
  const date = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i.test(value) ? new Date(value) : undefined;
  if (date === undefined || Number.isNaN(date.getTime())) {
    throw new RequestLogQueryError('since', 'since takes an ISO 8601 date or time, e.g. 2026-01-31 or 2026-01-31T08:00:00Z');
  }
  return date;
}

export function parseLimit(text: string): number {
  const value = text.trim();
  if (!/^[0-9]{1,7}$/.test(value) || Number(value) < 1 || Number(value) > MAX_LIMIT) {
    throw new RequestLogQueryError('limit', `limit takes a whole number from 1 to ${MAX_LIMIT}`);
  }
  return Number(value);
}

/** The request log's filters, parsed: the CLI's and the console's one parser. */
export function parseRequestLogQuery(text: RequestLogQueryText): RequestLogQuery {
  return {
    ...(text.since !== undefined ? { since: parseSince(text.since) } : {}),
    ...(text.status !== undefined ? { status: parseStatus(text.status) } : {}),
    ...(text.client !== undefined ? { client: parseClient(text.client) } : {}),
    limit: text.limit !== undefined ? parseLimit(text.limit) : DEFAULT_LIMIT,
  };
}
