import { DomainError } from '../domain/errors';
import { refusalInWords, type RequestLogEntry, type RequestLogSummary } from '../domain/request-log';
import { parseRequestLogQuery, RequestLogQueryError } from '../requestlog/query';
import { UsageError, type Flags, type Handler } from './command';
import { table } from './format';

/** What `requests --json` prints per entry. */
function summaryRow(e: RequestLogSummary) {
  return {
    id: e.id,
    time: e.time.toISOString(),
    requestId: e.requestId,
    ...(e.operation !== undefined ? { operation: e.operation } : {}),
    method: e.method,
    path: e.path,
    filter: e.filter,
    status: e.status,
    scimType: e.scimType,
    detail: e.detail,
    rule: e.rule,
    client: e.client,
    userAgent: e.userAgent,
    credentialId: e.credentialId,
    credentialName: e.credentialName,
    durationMs: e.durationMs,
    resourceIds: e.resourceIds,
  };
}

/** A stored body as JSON when it is JSON (a truncated one stays text). */
function bodyOf(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function optionText(flags: Flags, name: string): string | undefined {
  const value = flags[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * requests (--org <slug> | --unauthenticated) [--since ISO-8601] [--status 403|4xx|5xx]
 * [--client okta|entra|other] [--limit N] [--json]: the request log, newest first.
 */
export const requests: Handler = async (roster, _args, flags, io) => {
  const slug = optionText(flags, 'org');
  if ((slug === undefined || slug === '') === !flags.unauthenticated) throw new UsageError('requests takes --org <slug>, or --unauthenticated');
  let query;
  try {
    query = parseRequestLogQuery({
      since: optionText(flags, 'since'),
      status: optionText(flags, 'status'),
      client: optionText(flags, 'client'),
      limit: optionText(flags, 'limit'),
    });
  } catch (error) {
    if (error instanceof RequestLogQueryError) throw new UsageError(`--${error.message}`);
    throw error;
  }
  const entries = slug
    ? await roster.requestLog.reader.list((await roster.organizations.bySlug(slug)).id, query)
    : await roster.requestLog.store.listUnauthenticated(query);
  const rows = entries.map(summaryRow);
  if (flags.json) return io.out(JSON.stringify(rows, null, 2));
  io.out(
    table(
      rows.map((r) => ({
        ...r,
        path: r.operation !== undefined ? `${r.path} (bulk op ${r.operation})` : r.path,
        rule: r.rule?.code,
        detail: r.detail !== null && r.detail.length > 100 ? `${r.detail.slice(0, 99)}…` : r.detail,
      })),
      ['id', 'time', 'client', 'method', 'path', 'status', 'rule', 'detail'],
    ),
  );
};

/** requests show <id> [--org <slug>] [--json]: one entry with its bodies and changes. */
export const requestShow: Handler = async (roster, [id], flags, io) => {
  const slug = optionText(flags, 'org');
  const entry = slug ? await roster.requestLog.reader.get((await roster.organizations.bySlug(slug)).id, id) : await roster.requestLog.store.find(id);
  if (!entry) throw new DomainError('not_found', 'request_log.not_found', `no request log entry ${id}${slug ? ` in organization ${slug}` : ''}`);
  const full = {
    ...summaryRow(entry),
    organizationId: entry.organizationId,
    changes: entry.changes,
    requestBody: bodyOf(entry.requestBody),
    responseBody: bodyOf(entry.responseBody),
  };
  if (flags.json) return io.out(JSON.stringify(full, null, 2));
  io.out(describe(entry, full.requestBody, full.responseBody));
};

/** An entry for people: what came, what went back, why, and what changed. */
function describe(e: RequestLogEntry, requestBody: unknown, responseBody: unknown): string {
  const show = (value: unknown) => (value === undefined ? '(none)' : JSON.stringify(value));
  const lines = [
    `request ${e.id}${e.operation !== undefined ? ` (operation ${e.operation} of a Bulk request)` : ''}  ${e.time.toISOString()}  request id ${e.requestId}`,
    `client: ${e.client}${e.userAgent ? ` (${e.userAgent})` : ''}; credential: ${e.credentialName ?? '-'}${e.credentialId ? ` (${e.credentialId})` : ''}`,
    `${e.method} ${e.path}${e.filter ? `  filter: ${e.filter}` : ''}`,
    `status: ${e.status}${e.scimType ? ` ${e.scimType}` : ''} in ${e.durationMs} ms`,
  ];
  if (e.detail) lines.push(`detail: ${e.detail}`);
  if (e.rule) lines.push(`refused by: ${refusalInWords(e.rule)}`);
  if (e.resourceIds.length > 0) lines.push(`resources: ${e.resourceIds.join(', ')}`);
  if (e.changes.length > 0) {
    lines.push('changes:');
    for (const c of e.changes) {
      lines.push(`  ${c.resourceType} ${c.resourceId} ${c.action}`);
      for (const a of c.changes) lines.push(`    ${a.attribute}: ${show(a.before)} -> ${show(a.after)}`);
    }
  }
  lines.push('request body:', requestBody === null ? '  (none)' : indent(requestBody));
  lines.push('response body:', responseBody === null ? '  (none)' : indent(responseBody));
  return lines.join('\n');
}

function indent(body: unknown): string {
  const text = typeof body === 'string' ? body : JSON.stringify(body, null, 2);
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}
