import type { Router } from 'express';
import type { Logger } from 'pino';
import type { Actor } from '../domain/actor';
import { refusalInWords, type RequestLogEntry, type RequestLogReader, type RequestLogSummary } from '../domain/request-log';
import { parseRequestLogQuery, RequestLogQueryError } from '../requestlog/query';
import { badRequest, consoleLocals, ConsoleError, handler, queryText } from './http';

export interface RequestsDeps {
  requestLog: RequestLogReader;
  logger: Logger;
}

/** An entry as the Requests page lists it (the same fields as `roster requests --json`). */
function summaryView(e: RequestLogSummary) {
  return {
    id: e.id,
    time: e.time.toISOString(),
    requestId: e.requestId,
    operation: e.operation ?? null,
    method: e.method,
    path: e.path,
    filter: e.filter,
    status: e.status,
    scimType: e.scimType,
    detail: e.detail,
    rule: e.rule,
    /** The rule in words, as `roster requests show` prints it after `refused by:`. */
    refusedBy: e.rule ? refusalInWords(e.rule) : null,
    client: e.client,
    userAgent: e.userAgent,
    credentialId: e.credentialId,
    credentialName: e.credentialName,
    durationMs: e.durationMs,
    resourceIds: e.resourceIds,
  };
}

/** An entry in full: the stored (already redacted, capped) bodies as text, and the changes. */
function entryView(e: RequestLogEntry) {
  return { ...summaryView(e), changes: e.changes, requestBody: e.requestBody, responseBody: e.responseBody };
}

const actorOf = (res: Parameters<Parameters<typeof handler>[1]>[1]) => consoleLocals(res).consoleActor as Actor;

/**
 * Requests: the organization's request log, newest first, and one entry. The filters are
 * the CLI's (one parser, src/requestlog/query.ts); a filter that does not parse is a 400
 * that says what it takes. Another organization's entry is the same 404 as none.
 */
export function addRequestRoutes(router: Router, deps: RequestsDeps): void {
  const { logger } = deps;
  router.get(
    '/orgs/:org/requests',
    handler(logger, async (req, res) => {
      const text = (name: string) => {
        const value = queryText(req, name, 64)?.trim();
        return value === '' ? undefined : value;
      };
      let query;
      try {
        query = parseRequestLogQuery({ since: text('since'), status: text('status'), client: text('client'), limit: text('limit') });
      } catch (error) {
        if (error instanceof RequestLogQueryError) throw badRequest('console.parameter_invalid', error.message);
        throw error;
      }
      const entries = await deps.requestLog.list(actorOf(res).organizationId, query);
      return { requests: entries.map(summaryView) };
    }),
  );
  router.get(
    '/orgs/:org/requests/:id',
    handler(logger, async (req, res) => {
      const id = String(req.params.id);
      const entry = await deps.requestLog.get(actorOf(res).organizationId, id);
      if (!entry) throw new ConsoleError(404, 'request_log.not_found', 'Request not found');
      return { request: entryView(entry) };
    }),
  );
}
