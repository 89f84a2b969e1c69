import { credentialView } from '../domain/credential';
import { UsageError, required, type Handler } from './command';
import { table } from './format';

/** token create --org <slug> [--system-role R] [--org-role R] [--name L] [--expires-in-days N]: prints the secret. */
export const tokenCreate: Handler = async (roster, _args, flags, io) => {
  const org = await roster.organizations.bySlug(required(flags, 'org'));
  const days = flags['expires-in-days'];
  if (days !== undefined && !/^\d+$/.test(String(days))) throw new UsageError('--expires-in-days takes a whole number');
  const { secret } = await roster.credentials.issue({
    organizationId: org.id,
    name: flags.name as string | undefined,
    systemRole: flags['system-role'] as string | undefined,
    organizationRole: flags['org-role'] as string | undefined,
    expiresInDays: days === undefined ? undefined : Number(days),
  });
  io.out(secret);
};

/** token list --org <slug> [--json] */
export const tokenList: Handler = async (roster, _args, flags, io) => {
  const org = await roster.organizations.bySlug(required(flags, 'org'));
  const rows = (await roster.credentials.list(org.id)).map(credentialView);
  io.out(
    flags.json
      ? JSON.stringify(rows, null, 2)
      : table(rows, ['id', 'name', 'systemRole', 'organizationRole', 'createdAt', 'lastUsedAt', 'expiresAt', 'revokedAt']),
  );
};

/** token revoke <id> */
export const tokenRevoke: Handler = async (roster, [id], _flags, io) => {
  const credential = await roster.credentials.revoke(id);
  io.out(credential.id);
  io.err(`revoked ${credential.id} at ${credential.revokedAt?.toISOString()}`);
};
