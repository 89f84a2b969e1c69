import express, { Router } from 'express';
import type { Actor } from '../../domain/actor';
import type { GroupService } from '../../domain/group.service';
import type { UserService } from '../../domain/user.service';
import type { ResourceChange } from '../../domain/request-log';
import { conflict, invalidPath, invalidSyntax, invalidValue, payloadTooLarge, toScimError, type ScimError } from '../http/errors';
import { groupWrites } from './groups.routes';
import { handler } from '../http/handler';
import { inputGuard, utf8Body } from '../http/input-guard';
import { BULK_MAX_OPERATIONS, BULK_MAX_PAYLOAD_BYTES } from '../http/limits';
import { actorOf, etagOf, locals, scimBaseUrl, sendScim, versionDemanded, type RequestRecord } from '../http/http';
import { tooManyRequests } from '../http/rate-limit';
import { userWrites } from './users.routes';

export const BULK_REQUEST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
export const BULK_RESPONSE_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';

type Json = Record<string, unknown>;
type Method = 'POST' | 'PUT' | 'PATCH' | 'DELETE';

interface Operation {
  index: number;
  method: Method;
  bulkId?: string;
  version?: string;
  path: string;
  data?: unknown;
}

interface Result {
  method: Method;
  bulkId?: string;
  version?: string;
  location?: string;
  status: string;
  response?: unknown;
}

const BULK_ID = /bulkId:([^/"\s]+)/g;

/** The bulkIds an operation refers to (in its path or anywhere in its data). */
function references(operation: Operation): string[] {
  const text = `${operation.path} ${JSON.stringify(operation.data ?? null)}`;
  return [...text.matchAll(BULK_ID)].map((m) => m[1]);
}

/** Replaces `bulkId:x` with the id created for x, in the path and in every string of the data. */
function resolve<T>(value: T, ids: Map<string, string>): T {
  const swap = (s: string) => s.replace(BULK_ID, (whole, id: string) => ids.get(id) ?? whole);
  if (typeof value === 'string') return swap(value) as T;
  if (Array.isArray(value)) return value.map((v) => resolve(v, ids)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value as Json).map(([k, v]) => [k, resolve(v, ids)])) as T;
  }
  return value;
}

function parseRequest(body: unknown): { operations: Operation[]; failOnErrors?: number } {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw invalidSyntax('bulk.body_not_object', 'the request body must be a BulkRequest');
  const request = body as Json;
  if (!Array.isArray(request.schemas) || !request.schemas.includes(BULK_REQUEST_SCHEMA)) {
    throw invalidSyntax('bulk.schemas_invalid', `schemas must be ["${BULK_REQUEST_SCHEMA}"]`);
  }
  const failOnErrors = request.failOnErrors;
  if (failOnErrors !== undefined && (typeof failOnErrors !== 'number' || !Number.isInteger(failOnErrors) || failOnErrors < 1)) {
    throw invalidValue('bulk.fail_on_errors_invalid', 'failOnErrors must be a positive integer');
  }
  if (!Array.isArray(request.Operations)) throw invalidSyntax('bulk.operations_not_array', 'Operations must be an array');
  if (request.Operations.length > BULK_MAX_OPERATIONS) {
    throw payloadTooLarge('bulk.too_many_operations', `a bulk request may hold at most ${BULK_MAX_OPERATIONS} operations (maxOperations)`);
  }
  const operations = request.Operations.map((raw: unknown, index: number): Operation => {
    const op = (raw ?? {}) as Json;
    const method = typeof op.method === 'string' ? (op.method.toUpperCase() as Method) : undefined;
    if (!method || !['POST', 'PUT', 'PATCH', 'DELETE'].includes(method)) {
      throw invalidSyntax('bulk.method_invalid', `operation ${index + 1}: method must be POST, PUT, PATCH or DELETE`);
    }
    if (typeof op.path !== 'string') throw invalidSyntax('bulk.path_missing', `operation ${index + 1}: path is required`);
    if (method === 'POST' && (typeof op.bulkId !== 'string' || op.bulkId === '')) {
      throw invalidSyntax('bulk.bulk_id_missing', `operation ${index + 1}: a POST needs a bulkId`);
    }
    return {
      index,
      method,
      path: op.path,
      ...(typeof op.bulkId === 'string' ? { bulkId: op.bulkId } : {}),
      ...(typeof op.version === 'string' ? { version: op.version } : {}),
      ...(op.data !== undefined ? { data: op.data } : {}),
    };
  });
  const seen = new Set<string>();
  for (const op of operations) {
    if (!op.bulkId) continue;
    if (seen.has(op.bulkId)) throw invalidValue('bulk.bulk_id_duplicate', `bulkId "${op.bulkId}" is used twice`);
    seen.add(op.bulkId);
  }
  return { operations, failOnErrors: failOnErrors as number | undefined };
}

type Writes = { Users: ReturnType<typeof userWrites>; Groups: ReturnType<typeof groupWrites> };

interface BulkDeps {
  users: UserService;
  groups: GroupService;
  publicBaseUrl: string | undefined;
  /** Each operation takes a point of the credential's rate limit; one over it fails with 429 (rate-limit.ts). */
  rateLimiter?: { take(credentialId: string): Promise<number> };
}

/** One operation, through the same writes as the single request. */
async function runOperation(writes: Writes, actor: Actor, baseUrl: string, op: Operation): Promise<Result> {
  const match = /^\/(Users|Groups)(?:\/([^/]+))?$/i.exec(op.path);
  if (!match) throw invalidPath('bulk.path_unknown', `"${op.path}" is not /Users, /Groups or one of their resources`);
  const type = (match[1].toLowerCase() === 'users' ? 'Users' : 'Groups') as keyof Writes;
  const id = match[2];
  const w = writes[type];
  const version = versionDemanded(op.version);
  const done = (status: number, resource: { id: string; version: number }): Result => ({
    method: op.method,
    ...(op.bulkId ? { bulkId: op.bulkId } : {}),
    location: `${baseUrl}/${type}/${resource.id}`,
    version: etagOf(resource.version),
    status: String(status),
  });
  if (op.method === 'POST') {
    if (id) throw invalidPath('bulk.post_to_resource', 'POST goes to /Users or /Groups');
    return done(201, await w.create(actor, op.data));
  }
  if (!id) throw invalidPath('bulk.resource_id_missing', `${op.method} needs /${type}/{id}`);
  switch (op.method) {
    case 'PUT':
      return done(200, await w.replace(actor, id, op.data, version));
    case 'PATCH':
      return done(200, await w.patch(actor, id, op.data, baseUrl, version));
    default:
      await w.remove(actor, id, version);
      return { method: op.method, ...(op.bulkId ? { bulkId: op.bulkId } : {}), location: `${baseUrl}/${type}/${id}`, status: '204' };
  }
}

/**
 * Each operation's own request log record: its writes report their changes to a journal
 * of its own (its actor carries it), and its outcome and duration are added when it is done.
 */
class OperationLog {
  private journal: ResourceChange[] = [];
  private started = process.hrtime.bigint();

  constructor(private readonly log: RequestRecord | undefined) {}

  actorFor(actor: Actor): Actor {
    return this.log ? { ...actor, journal: { changed: (change) => this.journal.push(change) } } : actor;
  }

  begin(): void {
    this.journal = [];
    this.started = process.hrtime.bigint();
  }

  done(op: Operation, result: Result, error?: ScimError): void {
    this.log?.operations.push({
      index: op.index,
      method: op.method,
      path: op.path,
      data: op.data,
      status: Number(result.status),
      ...(error ? { error } : {}),
      response: result,
      resources: this.journal,
      durationMs: Number(process.hrtime.bigint() - this.started) / 1e6,
    });
    this.begin();
  }
}

/**
 * Runs the operations in an order that creates what a bulkId names before it is used,
 * until they are done or `failOnErrors` errors have happened; one result per operation run.
 */
async function runOperations(
  deps: BulkDeps,
  writes: Writes,
  request: { actor: Actor; baseUrl: string; requestId: string; log?: RequestRecord },
  operations: Operation[],
  failOnErrors: number | undefined,
): Promise<Result[]> {
  const { baseUrl, requestId } = request;
  const opLog = new OperationLog(request.log);
  const actor = opLog.actorFor(request.actor);
  const created = new Map<string, string>();
  const failedBulkIds = new Set<string>();
  const definedBy = new Map(operations.filter((o) => o.method === 'POST' && o.bulkId).map((o) => [o.bulkId as string, o]));
  const results: Result[] = [];
  let errors = 0;
  let pending = [...operations];

  const fail = (op: Operation, error: unknown) => {
    const scimError = toScimError(error, requestId);
    errors += 1;
    if (op.bulkId) failedBulkIds.add(op.bulkId);
    const result = { method: op.method, ...(op.bulkId ? { bulkId: op.bulkId } : {}), status: String(scimError.status), response: scimError.toJSON() };
    results.push(result);
    opLog.done(op, result, scimError);
  };
  const stopped = () => failOnErrors !== undefined && errors >= failOnErrors;

  while (pending.length > 0 && !stopped()) {
    const next: Operation[] = [];
    let progressed = false;
    for (const op of pending) {
      if (stopped()) break;
      const unresolved = references(op).filter((ref) => !created.has(ref));
      const waiting = unresolved.filter((ref) => definedBy.has(ref) && !failedBulkIds.has(ref) && definedBy.get(ref) !== op);
      if (waiting.length > 0) {
        next.push(op);
        continue;
      }
      progressed = true;
      if (unresolved.length > 0) {
        fail(op, conflict('bulk.bulk_id_unresolved', `bulkId "${unresolved[0]}" does not name a resource created in this request`));
        continue;
      }
      opLog.begin();
      const wait = (await deps.rateLimiter?.take(actor.credentialId)) ?? 0;
      if (wait > 0) {
        fail(op, tooManyRequests(wait, 'bulk.rate_exceeded'));
        continue;
      }
      try {
        // RFC 9967 section 2.5.1.2: each operation's txn is the request's, a colon and its index in Operations.
        const opActor = actor.requestId === undefined ? actor : { ...actor, requestId: `${actor.requestId}:${op.index}` };
        const result = await runOperation(writes, opActor, baseUrl, resolve(op, created));
        if (op.method === 'POST' && op.bulkId && result.location) created.set(op.bulkId, result.location.split('/').pop() as string);
        results.push(result);
        opLog.done(op, result);
      } catch (error) {
        fail(op, error);
      }
    }
    if (!progressed) {
      for (const op of next) fail(op, conflict('bulk.bulk_id_circular', 'circular bulkId references cannot be resolved'));
      break;
    }
    pending = next;
  }
  return results;
}

/**
 * `POST /Bulk` (RFC 7644 section 3.7). Each operation runs through the same writes
 * (and so the same validation and policy) as the single request, in a transaction of
 * its own. bulkId references are resolved, forward ones by running the operation
 * that creates the referenced resource first; what cannot be resolved (an unknown or
 * failed bulkId, a cycle) fails with 409 and creates nothing twice: 409 Conflict without a
 * scimType, as RFC 7644 section 3.7.1 has it for references that cannot be resolved
 * (`invalidValue` belongs to 400 responses).
 */
export function bulkRouter(deps: BulkDeps): Router {
  const router = Router();
  const writes: Writes = { Users: userWrites(deps.users), Groups: groupWrites(deps.groups) };
  // Mounted at /Bulk (scim/http/router.ts).
  router.post(
    '/',
    express.json({ type: ['application/scim+json', 'application/json', 'application/*+json'], limit: BULK_MAX_PAYLOAD_BYTES, verify: utf8Body }),
    inputGuard,
    handler(async (req, res) => {
      const { operations, failOnErrors } = parseRequest(req.body);
      const { requestId, log } = locals(res);
      const request = { actor: actorOf(res), baseUrl: scimBaseUrl(req, deps.publicBaseUrl), requestId, ...(log ? { log } : {}) };
      const results = await runOperations(deps, writes, request, operations, failOnErrors);
      sendScim(res, 200, { schemas: [BULK_RESPONSE_SCHEMA], Operations: results });
    }),
  );
  return router;
}
