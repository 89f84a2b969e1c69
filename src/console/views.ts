import { auditEventView } from '../domain/audit';
import type { AuditEvent } from '../domain/ports';

/** An audit event as the console shows it: as `roster audit --json` prints it, with its id for paging. */
export function auditView(e: AuditEvent) {
  return { id: e.id, ...auditEventView(e) };
}
