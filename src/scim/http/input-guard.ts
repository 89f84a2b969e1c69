import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { invalidSyntax, invalidValue } from './errors';

const MAX_DEPTH = 32;

/** Whether a string is valid Unicode: no lone surrogate (String.prototype.isWellFormed, Node 20). */
export function isWellFormed(text: string): boolean {
  return (text as string & { isWellFormed(): boolean }).isWellFormed();
}

/**
 * express.json's `verify`: the raw body must be UTF-8 (RFC 8259 section 8.1), checked
 * before it is decoded, because the decoder would turn bad bytes into U+FFFD and the
 * body would be stored altered. Other charsets (UTF-16, UTF-32) are 415. The error's
 * `type` is what the router's body-parser mapping reads. The raw bytes stay on the
 * request as `rawBody` for the request log.
 */
export function utf8Body(req: IncomingMessage, _res: unknown, body: Buffer, encoding: string | null): void {
  // The request log shows a body that did not parse as it came (request-log.ts).
  (req as IncomingMessage & { rawBody?: Buffer }).rawBody = body;
  if (encoding !== null && encoding.toLowerCase() !== 'utf-8') {
    throw Object.assign(new Error(`unsupported charset "${encoding.toUpperCase()}"`), { status: 415, type: 'charset.unsupported' });
  }
  if (!isUtf8(body)) throw Object.assign(new Error('the request body is not valid UTF-8'), { status: 400, type: 'entity.not.utf8' });
}

/**
 * Whether the query string of `url` decodes to valid UTF-8. Express's query parser
 * (node:querystring) turns a percent-encoded byte sequence that is not UTF-8 (`%FF`,
 * an encoded surrogate `%ED%A0%80`) into U+FFFD without a word; this checks each
 * key and value the way it decodes them: decodeURIComponent, else byte by byte.
 */
function queryIsUtf8(url: string): boolean {
  const bytes = (text: string) =>
    Buffer.concat(
      text.split(/(%[0-9A-Fa-f]{2})/).map((part) => (/^%[0-9A-Fa-f]{2}$/.test(part) ? Buffer.from([parseInt(part.slice(1), 16)]) : Buffer.from(part))),
    );
  const start = url.indexOf('?');
  if (start < 0 || !url.includes('%', start)) return true;
  for (const piece of url.slice(start + 1).split(/[&=]/)) {
    if (!piece.includes('%')) continue;
    const text = piece.replace(/\+/g, ' ');
    try {
      decodeURIComponent(text);
    } catch {
      if (!isUtf8(bytes(text))) return false;
    }
  }
  return true;
}

/**
 * Refuses input no attribute can hold, before anything reads it: JSON nested deeper
 * than any SCIM resource needs, NUL characters (PostgreSQL text cannot store them),
 * strings that are not Unicode (a lone surrogate, which PostgreSQL would store as
 * U+FFFD or refuse), in the body or the query string, and a query string whose
 * percent-encoded bytes are not UTF-8. Iterative, so no input can exhaust the stack.
 * Bodies that are not UTF-8 are refused earlier, by `utf8Body`.
 */
export function inputGuard(req: Request, _res: Response, next: NextFunction): void {
  if (!queryIsUtf8(req.originalUrl ?? req.url)) {
    throw invalidSyntax('request.query_not_utf8', 'the query string is not valid UTF-8 once percent-decoded');
  }
  for (const [name, value] of Object.entries(req.query)) {
    // Express's simple query parser gives strings, and arrays of them for repeated names.
    for (const text of [name, ...(Array.isArray(value) ? value : [value])]) {
      if (typeof text !== 'string') continue;
      if (text.includes('\u0000')) throw invalidValue('request.query_nul', `the query parameter ${name} must not contain NUL characters`);
      if (!isWellFormed(text)) throw invalidSyntax('request.query_lone_surrogate', `the query parameter ${name} is not valid Unicode`);
    }
  }
  const stack: [unknown, number][] = [[req.body, 0]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop() as [unknown, number];
    if (typeof value === 'string') {
      if (value.includes('\u0000')) throw invalidValue('request.body_nul', 'strings must not contain NUL characters');
      if (!isWellFormed(value)) {
        throw invalidSyntax('request.body_lone_surrogate', 'the request body is not valid Unicode: a string holds a lone surrogate (\\ud800-\\udfff)');
      }
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_DEPTH) throw invalidSyntax('request.body_too_deep', `the request body is nested deeper than ${MAX_DEPTH} levels`);
    const entries = Array.isArray(value) ? value : Object.entries(value as Record<string, unknown>).flat();
    for (const item of entries) stack.push([item, depth + 1]);
  }
  next();
}
