import { DomainError } from '../domain/errors';
import { SUPPORTED_EVENT_URIS } from '../events/uris';
import { checkReceiverUrl, ReceiverUrlError } from '../events/receiver-url';
import { required, UsageError, type Handler } from './command';
import { table } from './format';

/** receiver add --org <slug> --url <url> [--audience <aud>] [--events <uri,...>] [--full]: prints the receiver's id. */
export const receiverAdd: Handler = async (roster, _args, flags, io) => {
  const organization = await roster.organizations.bySlug(required(flags, 'org'));
  const urlText = required(flags, 'url');
  try {
    await checkReceiverUrl(urlText, roster.config.receiversAllowPrivate);
  } catch (error) {
    if (error instanceof ReceiverUrlError) throw new UsageError(`--url: ${error.message}`);
    throw error;
  }
  const audience = flags.audience === undefined ? urlText : String(flags.audience);
  if (audience.trim() === '') throw new UsageError('--audience must not be empty');
  let events: string[] | null = null;
  if (flags.events !== undefined) {
    events = [
      ...new Set(
        String(flags.events)
          .split(',')
          .map((uri) => uri.trim())
          .filter((uri) => uri !== ''),
      ),
    ];
    const unknown = events.find((uri) => !SUPPORTED_EVENT_URIS.includes(uri));
    if (unknown !== undefined || events.length === 0) {
      const hint = unknown?.endsWith(':full') ? '; name the notice URI: a receiver added with --full gets it in the full form' : '';
      throw new UsageError(`--events takes a comma-separated list of: ${SUPPORTED_EVENT_URIS.join(', ')}${unknown ? ` (not "${unknown}"${hint})` : ''}`);
    }
  }
  const receiver = await roster.receivers.add({ organizationId: organization.id, url: urlText, audience, events, full: flags.full === true });
  io.out(receiver.id);
  if (receiver.full) io.err('note: --full sends each user create, put and patch with the user resource (personal data) as data');
};

/** receiver list --org <slug> [--json] */
export const receiverList: Handler = async (roster, _args, flags, io) => {
  const organization = await roster.organizations.bySlug(required(flags, 'org'));
  const rows = (await roster.receivers.list(organization.id)).map((r) => ({
    id: r.id,
    url: r.url,
    audience: r.audience,
    events: r.events,
    full: r.full,
    createdAt: r.createdAt.toISOString(),
    lastDeliveredAt: r.lastDeliveredAt?.toISOString() ?? null,
    pending: r.pending,
    attempts: r.attempts,
    nextAttemptAt: r.nextAttemptAt?.toISOString() ?? null,
    failing: r.failing,
    lastError: r.lastError,
  }));
  if (flags.json) return io.out(JSON.stringify(rows, null, 2));
  const short = (uri: string) => uri.replace('urn:ietf:params:scim:event:', '');
  io.out(
    table(
      rows.map((r) => ({ ...r, events: r.events === null ? 'all' : r.events.map(short).join(',') })),
      ['id', 'url', 'audience', 'events', 'createdAt', 'lastDeliveredAt', 'pending', 'lastError'],
    ),
  );
};

/** receiver remove <id> */
export const receiverRemove: Handler = async (roster, [id], _flags, io) => {
  if (!(await roster.receivers.remove(id))) throw new DomainError('not_found', 'receiver.not_found', `no receiver ${id}`);
  io.err(`removed receiver ${id}`);
};
