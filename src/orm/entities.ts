/**
 * The persistence model. These schemas are the source the committed migrations are
 * generated from, and a test proves the two agree. Hot paths read and write through
 * plain SQL in the repositories; these entities name the tables and columns.
 *
 * One module per table group under entities/; this index lists them all.
 */
import { ApiCredential } from './entities/api-credential';
import { AuditEvent } from './entities/audit-event';
import { ConsoleAdmin, ConsoleSession, ConsoleSetupToken } from './entities/console-admin';
import { EventPollAck } from './entities/event-poll-ack';
import { EventReceiver } from './entities/event-receiver';
import { Group, GroupMember } from './entities/group';
import { GroupRoleMapping } from './entities/group-role-mapping';
import { InstanceSetting } from './entities/instance-setting';
import { Organization } from './entities/organization';
import { ProvisioningEvent, ProvisioningEventQueue } from './entities/provisioning-event';
import { RateLimitCounter } from './entities/rate-limit-counter';
import { RequestLog, RequestReadBatch } from './entities/request-log';
import { SigningKey } from './entities/signing-key';
import { User } from './entities/user';
import { UserAccountCount, UserAccountDelta } from './entities/user-account-counts';
import { UserCreatedRange, UserNameRange, UserOrderDelta } from './entities/user-order-index';

export * from './entities/api-credential';
export * from './entities/audit-event';
export * from './entities/console-admin';
export * from './entities/event-poll-ack';
export * from './entities/event-receiver';
export * from './entities/group';
export * from './entities/group-role-mapping';
export * from './entities/instance-setting';
export * from './entities/organization';
export * from './entities/provisioning-event';
export * from './entities/rate-limit-counter';
export * from './entities/request-log';
export * from './entities/signing-key';
export * from './entities/user';
export * from './entities/user-account-counts';
export * from './entities/user-order-index';

export const entities = [
  Organization,
  User,
  Group,
  GroupMember,
  ApiCredential,
  InstanceSetting,
  AuditEvent,
  UserOrderDelta,
  UserNameRange,
  UserCreatedRange,
  UserAccountCount,
  UserAccountDelta,
  RateLimitCounter,
  SigningKey,
  ProvisioningEvent,
  ProvisioningEventQueue,
  EventPollAck,
  EventReceiver,
  RequestLog,
  RequestReadBatch,
  ConsoleAdmin,
  ConsoleSession,
  ConsoleSetupToken,
  GroupRoleMapping,
];
