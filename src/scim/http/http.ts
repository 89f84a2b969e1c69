import type { Request, Response } from 'express';
import type { Actor } from '../../domain/actor';
import type { ChangeJournal, ResourceChange } from '../../domain/request-log';
import type { ReadResources } from '../../requestlog/read-summary';
import { ScimError, unauthorized } from './errors';

export const SCIM_CONTENT_TYPE = 'application/scim+json; charset=utf-8';

/** Per-request state the SCIM routes share (set by the auth and request-id middleware). */
export interface ScimLocals {
  requestId: string;
  actor?: Actor;
  /** The matched route pattern, e.g. /scim/v2/Users/:id. */
  route?: string;
  /** The dotted code of the error this request was refused with (the request log line shows it). */
  errorCode?: string;
  /** The error this request was refused with (the request log shows its scimType and detail). */
  error?: ScimError;
  /** The JSON text of the response body, as sent (for the request log). */
  responseText?: string;
  /** Its size in UTF-8 bytes (its Content-Length), counted once. */
  responseBytes?: number;
  /** The resources a read returned, as the route knew them (the request log keeps their ids without finding them in responseText). */
  read?: ReadResources;
  /** The request log's record of this request (request-log.ts); absent when the log is off. */
  log?: RequestRecord;
}

/** What the request log collects while a request runs: the changes the services report, and each Bulk operation. */
export interface RequestRecord extends ChangeJournal {
  resources: ResourceChange[];
  operations: BulkOperationRecord[];
  /**
   * The response has gone, `durationMs` after the request came: the log takes its
   * entries. Called by the app's one `finish` listener (requestContext in app.ts), which
   * every request has anyway and which times the request already, rather than a second
   * listener and a second clock per request (docs/benchmarks.md, #14). Never throws.
   */
  finished(durationMs: number): void;
}

/** One Bulk operation as it ran, for its own entry in the request log. */
export interface BulkOperationRecord {
  index: number;
  method: string;
  path: string;
  data: unknown;
  status: number;
  error?: ScimError;
  response: unknown;
  resources: ResourceChange[];
  durationMs: number;
}

export function locals(res: Response): ScimLocals {
  return res.locals as ScimLocals;
}

export function actorOf(res: Response): Actor {
  const actor = locals(res).actor;
  if (!actor) throw unauthorized('auth.actor_missing', 'a valid bearer token is required');
  return actor;
}

/** Sends a SCIM error: its status, its body and its `Retry-After` if it has one. */
export function sendScimError(res: Response, error: ScimError): void {
  if (error.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(error.retryAfterSeconds));
  sendScim(res, error.status, error);
}

/**
 * Sends a SCIM JSON body. It does what `res.type(...).send(text)` does, minus the work
 * that changes nothing here: the content type is set as it is (send would parse and
 * rebuild it to add the charset it already has), and the text is not copied into a
 * Buffer (send does for 1,000 characters and more), so Node writes the headers and the
 * body as one string. As with send: Content-Length, no body on HEAD, and a GET the
 * client holds fresh (If-None-Match) becomes 304 without Content-Type or body. Unlike
 * send, it never generates an ETag from the body (the app turns that off: a resource's
 * ETag is its version, set by sendResource).
 */
export function sendScim(res: Response, status: number, body: unknown): void {
  // A refusal's code goes on res.locals, where the request log line (app.ts) reads it.
  if (body instanceof ScimError) {
    locals(res).errorCode = body.code;
    locals(res).error = body;
  }
  sendScimText(res, status, JSON.stringify(body));
}

/** sendScim for a body already serialised as JSON text; `read`: the resources it holds, when the caller knows them (for the request log). */
export function sendScimText(res: Response, status: number, text: string, read?: ReadResources): void {
  const bytes = Buffer.byteLength(text, 'utf8');
  const state = locals(res);
  if (state.log) {
    state.responseText = text;
    state.responseBytes = bytes;
    if (read) state.read = read;
  }
  res.status(status);
  res.setHeader('Content-Type', SCIM_CONTENT_TYPE);
  if (res.getHeader('Transfer-Encoding') === undefined) res.setHeader('Content-Length', bytes);
  const req = res.req;
  if (req.fresh) res.status(304);
  if (res.statusCode === 204 || res.statusCode === 304) {
    res.removeHeader('Content-Type');
    res.removeHeader('Content-Length');
    res.removeHeader('Transfer-Encoding');
    res.end();
    return;
  }
  if (req.method === 'HEAD') res.end();
  else res.end(text, 'utf8');
}

/** A single resource: its ETag header is its meta.version. */
export function sendResource(res: Response, status: number, resource: Record<string, unknown>): void {
  const meta = resource.meta as { version?: string; location?: string } | undefined;
  if (meta?.version) res.setHeader('ETag', meta.version);
  if (status === 201 && meta?.location) res.setHeader('Location', meta.location);
  sendScim(res, status, resource);
}

/** The absolute base URL of the SCIM service as this request reached it. */
export function scimBaseUrl(req: Request, publicBaseUrl: string | undefined): string {
  const origin = publicBaseUrl ?? `${req.protocol}://${req.get('host') ?? 'localhost'}`;
  return `${origin}/scim/v2`;
}

/**
 * A resource's ETag: weak, naming its version (`W/"3"`). The one place the form is
 * written; `versionOfETag` reads it back.
 */
export function etagOf(version: number): string {
  return `W/"${version}"`;
}

/** The version an entity tag names (`W/"n"` or `"n"`), or undefined for any other tag. */
export function versionOfETag(tag: string): number | undefined {
  const match = /^\s*(?:W\/)?"(\d{1,15})"\s*$/.exec(tag);
  return match ? Number(match[1]) : undefined;
}

/**
 * The version an If-Match value (a header, or a Bulk operation's `version`) demands:
 * undefined for none or `*`, a number for `W/"n"` or `"n"`, and -1 (matches nothing)
 * for any other tag.
 */
export function versionDemanded(ifMatch: string | undefined): number | undefined {
  if (ifMatch === undefined || ifMatch.trim() === '*') return undefined;
  const versions = ifMatch.split(',').map(versionOfETag);
  return versions.find((v) => v !== undefined) ?? -1;
}

/** The version the request's If-Match header demands (see versionDemanded). */
export function expectedVersion(req: Request): number | undefined {
  return versionDemanded(req.get('if-match'));
}

/** Whether an If-None-Match header names this version (so a GET may answer 304). */
export function notModified(req: Request, version: number): boolean {
  const header = req.get('if-none-match');
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => versionOfETag(tag) === version);
}

/** 304 Not Modified, with the resource's ETag. */
export function sendNotModified(res: Response, version: number): void {
  res.status(304).setHeader('ETag', etagOf(version)).end();
}

/**
 * PATCH answers 204 with the new ETag, unless the client asked for attributes
 * (RFC 7644 section 3.5.2: then 200 with the resource).
 */
export function wantsBody(req: Request): boolean {
  return req.query.attributes !== undefined || req.query.excludedAttributes !== undefined;
}

export function sendNoContent(res: Response, version: number): void {
  res.setHeader('ETag', etagOf(version));
  res.status(204).end();
}
