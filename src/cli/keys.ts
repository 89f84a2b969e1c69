import type { SigningKey } from '../domain/signing';
import { UsageError, type Handler } from './command';
import { table } from './format';

/** How long a retired key stays in the JWKS by default: receivers verifying SETs signed just before a rotation still find it. */
const DEFAULT_RETIRE_AFTER_DAYS = 7;

/** key rotate [--retire-after-days N]: a new active signing key; prints its kid. */
export const keyRotate: Handler = async (roster, _args, flags, io) => {
  const days = flags['retire-after-days'];
  if (days !== undefined && !/^\d+$/.test(String(days))) throw new UsageError('--retire-after-days takes a whole number');
  const retireAfterDays = days === undefined ? DEFAULT_RETIRE_AFTER_DAYS : Number(days);
  if (retireAfterDays > 3650) throw new UsageError('--retire-after-days takes 0 to 3650');
  const { active, retired } = await roster.signingKeys.rotate(retireAfterDays);
  io.out(active.kid);
  if (retired) io.err(`retired ${retired.kid}: in the JWKS until ${retired.expiresAt?.toISOString()}`);
};

/** key list [--json]: every signing key, newest first (public data only). */
export const keyList: Handler = async (roster, _args, flags, io) => {
  const rows = (await roster.signingKeys.list()).map(keyRow);
  io.out(flags.json ? JSON.stringify(rows, null, 2) : table(rows, ['kid', 'algorithm', 'createdAt', 'retiredAt', 'expiresAt']));
};

function keyRow(key: SigningKey) {
  return {
    kid: key.kid,
    algorithm: key.algorithm,
    createdAt: key.createdAt.toISOString(),
    retiredAt: key.retiredAt?.toISOString() ?? null,
    expiresAt: key.expiresAt?.toISOString() ?? null,
  };
}
