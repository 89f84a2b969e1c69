import { auditEventView } from '../domain/audit';
import { deliveriesOf } from '../domain/receivers';
import { accountSettingsOf, type User } from '../domain/user';
import { UsageError, required, type Handler } from './command';
import { csvCell, table } from './format';

/** What `users export` writes per user: roles and flags, never a password hash. */
const EXPORT_COLUMNS = [
  'id',
  'userName',
  'externalId',
  'displayName',
  'givenName',
  'familyName',
  'email',
  'active',
  'systemRole',
  'organizationRole',
  'accountType',
  'customTqlTimeout',
  'locked',
  'passwordResetRequired',
  'mfaEnabled',
  'mfaResetRequired',
  'termsOfServiceAcceptanceRequired',
  'timezone',
  'logoutAfterMinutes',
  'summaryEmailTime',
  'tokenExpirationDays',
  'includeInObservations',
  'allowExceedApiLinkLimit',
  'createdAt',
  'updatedAt',
] as const;

function exportRow(user: User): Record<string, unknown> {
  const primary = user.emails.find((e) => e.primary === true) ?? user.emails[0];
  return {
    id: user.id,
    userName: user.userName,
    externalId: user.externalId,
    displayName: user.displayName,
    givenName: user.name.givenName ?? null,
    familyName: user.name.familyName ?? null,
    email: (primary?.value as string | undefined) ?? null,
    active: user.active,
    timezone: user.timezone,
    ...accountSettingsOf(user),
    createdAt: user.createdAt.toISOString(),
    updatedAt: user.updatedAt.toISOString(),
  };
}

/** users export --org <slug> [--format csv|json]: CSV streams a line per user as the batches come. */
export const usersExport: Handler = async (roster, _args, flags, io) => {
  const format = (flags.format as string | undefined) ?? 'csv';
  if (format !== 'csv' && format !== 'json') throw new UsageError('--format takes csv or json');
  const slug = required(flags, 'org');
  if (format === 'csv') io.out(EXPORT_COLUMNS.join(','));
  const all: Record<string, unknown>[] = [];
  for await (const batch of roster.organizations.users(slug)) {
    for (const user of batch) {
      const row = exportRow(user);
      if (format === 'csv') io.out(EXPORT_COLUMNS.map((c) => csvCell(row[c])).join(','));
      else all.push(row);
    }
  }
  if (format === 'json') io.out(JSON.stringify(all, null, 2));
};

/** events --org <slug> [--since ISO-8601] [--limit N] [--json]: the provisioning events, newest first. */
export const events: Handler = async (roster, _args, flags, io) => {
  const since = sinceFlag(flags.since as string | undefined);
  const limitText = (flags.limit as string | undefined) ?? '100';
  if (!/^[0-9]+$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > 10000) throw new UsageError('--limit takes a whole number from 1 to 10000');
  const slug = required(flags, 'org');
  const stored = await roster.organizations.events(slug, since, Number(limitText));
  const receivers = await roster.receivers.list((await roster.organizations.bySlug(slug)).id);
  const rows = stored.map((e) => ({
    id: e.id,
    time: e.createdAt.toISOString(),
    resourceType: e.resourceType,
    resourceId: e.resourceId,
    events: e.eventUris,
    attributes: e.attributes,
    txn: e.txn ?? null,
    deliveries: deliveriesOf(e, receivers),
  }));
  if (flags.json) return io.out(JSON.stringify(rows, null, 2));
  const short = (uri: string) => uri.replace('urn:ietf:params:scim:event:', '');
  io.out(
    table(
      rows.map((r) => ({
        ...r,
        events: r.events.map(short).join(','),
        attributes: r.attributes.join(','),
        deliveries: r.deliveries.map((d) => `${d.receiverId.slice(0, 8)}:${d.state}`).join(','),
      })),
      ['id', 'time', 'resourceType', 'resourceId', 'events', 'attributes', 'txn', 'deliveries'],
    ),
  );
};

function sinceFlag(text: string | undefined): Date | undefined {
  const since = text === undefined ? undefined : new Date(text);
  if (since && Number.isNaN(since.getTime())) throw new UsageError('--since takes an ISO 8601 date or time, e.g. 2026-01-31T00:00:00Z');
  return since;
}

/** audit --org <slug> [--since ISO-8601] [--json] */
export const audit: Handler = async (roster, _args, flags, io) => {
  const since = sinceFlag(flags.since as string | undefined);
  const trail = await roster.organizations.audit(required(flags, 'org'), since);
  const rows = trail.map(auditEventView);
  if (flags.json) return io.out(JSON.stringify(rows, null, 2));
  io.out(
    table(
      rows.map((r) => ({ ...r, details: JSON.stringify(r.details) })),
      ['occurredAt', 'actor', 'action', 'targetType', 'targetName', 'details'],
    ),
  );
};
