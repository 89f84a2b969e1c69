import type { Credential } from './credential';
import type { DomainEvent, StoredEvent } from './events';
import type { AttributePath, Filter } from './filter';
import type { Group, GroupMember } from './group';
import type { GroupRoleMapping, GroupRolePrecedence, GroupRoleScope, RoleChange, RoleChangeRecords } from './group-role';
import type { Organization, OrganizationLicense } from './organization';
import type { AccountType } from './roles';
import type { User, UserFields } from './user';

/** A page of a collection: `startIndex` is 1-based, as in SCIM. */
export interface ListQuery {
  filter?: Filter;
  startIndex: number;
  count: number;
  sortBy?: { attribute: AttributePath; descending: boolean };
  /** An attribute this resource type lacks matches nothing (searches across types) instead of being an error. */
  unknownAttributesMatchNothing?: boolean;
  /** Keyset paging in the default order: the page starts after this row (startIndex is then ignored). */
  after?: PageKey;
  /** The total is already known (a cursor carries it): do not count again. */
  knownTotal?: number;
  /** Users: read each user's groups in the same query (Page.groups). */
  includeGroups?: boolean;
}

/** A row's place in the default order (creation time as PostgreSQL wrote it, then id). */
export interface PageKey {
  createdAt: string;
  id: string;
}

export interface Page<T> {
  total: number;
  items: T[];
  /** The key of the last item, when more items follow it. */
  next?: PageKey;
  /** With ListQuery.includeGroups: each user's groups, by user id. */
  groups?: Map<string, { id: string; displayName: string }[]>;
}

/**
 * A page of users as the store renders them: each user's SCIM resource (the
 * attributes returned by default, links under `baseUrl`) as JSON text, in page order.
 * The one place the store speaks the protocol's format, for list pages: building,
 * then serialising, a hundred resources in Node costs more than the query.
 */
export interface RenderedPage {
  total: number;
  resources: string[];
  /** The users' ids, in page order. */
  ids: string[];
  next?: PageKey;
}

export interface NewUser extends UserFields {
  organizationId: string;
  passwordHash: string | null;
}

export interface UserRepository {
  list(organizationId: string, query: ListQuery): Promise<Page<User>>;
  /** The same page as `list`, each user rendered as its SCIM resource (see RenderedPage). */
  listRendered(organizationId: string, query: ListQuery, baseUrl: string): Promise<RenderedPage>;
  findById(organizationId: string, id: string): Promise<User | null>;
  /**
   * The user, its row locked until the transaction ends: against other updates (and, for
   * `delete`, also against rows that reference it: group members, managed users).
   */
  lockById(organizationId: string, id: string, purpose?: 'update' | 'delete'): Promise<User | null>;
  /** Whether a userName is taken by another user anywhere in the instance (case-insensitive). */
  userNameTaken(userName: string, exceptId?: string): Promise<boolean>;
  insert(user: NewUser): Promise<User>;
  update(user: User, changes: Partial<UserFields> & { passwordHash?: string | null }): Promise<User>;
  delete(organizationId: string, id: string): Promise<boolean>;
  /** Removes the enterprise manager from the users this user managed; returns them as updated. */
  unlinkManager(organizationId: string, managerId: string): Promise<User[]>;
  /**
   * Which of these ids are users of the organization. `keyShare` holds them (FOR KEY
   * SHARE) until the transaction ends, so none can be deleted while it refers to them.
   */
  existingIds(organizationId: string, ids: string[], options?: { keyShare?: boolean }): Promise<Set<string>>;
  /** The groups of each of these users, by user id. */
  groupsOf(organizationId: string, userIds: string[]): Promise<Map<string, { id: string; displayName: string }[]>>;
  /** Users of the organization by account type (disabled ones included). */
  countByAccountType(organizationId: string): Promise<AccountCounts>;
  /** Users of the organization of one account type (disabled ones included), without counting them one by one. */
  countOfAccountType(organizationId: string, type: AccountType): Promise<number>;
  /** Up to `limit` users of the organization after `afterId`, in id order (exports). */
  batch(organizationId: string, afterId: string | undefined, limit: number): Promise<User[]>;
}

export type AccountCounts = Record<AccountType, number>;

export interface GroupRepository {
  list(organizationId: string, query: ListQuery): Promise<Page<Group>>;
  findById(organizationId: string, id: string): Promise<Group | null>;
  lockById(organizationId: string, id: string): Promise<Group | null>;
  displayNameTaken(organizationId: string, displayName: string, exceptId?: string): Promise<boolean>;
  insert(group: { organizationId: string; displayName: string; externalId: string | null }): Promise<Group>;
  update(group: Group, changes: { displayName?: string; externalId?: string | null }): Promise<Group>;
  /** Marks a change to the group (membership) without changing its attributes. */
  touch(group: Group): Promise<Group>;
  delete(organizationId: string, id: string): Promise<boolean>;
  members(groupId: string): Promise<GroupMember[]>;
  /** One page of a group's members in user-id order (the primary key's), and how many it has: never the whole membership. */
  memberPage(groupId: string, offset: number, limit: number): Promise<{ total: number; members: GroupMember[] }>;
  /** The members of each of these groups, by group id. */
  membersOf(groupIds: string[]): Promise<Map<string, GroupMember[]>>;
  /** Inserts these memberships (existing ones are left alone); returns the users newly added. */
  addMembers(groupId: string, userIds: string[]): Promise<string[]>;
  /** The remove methods return the users removed. */
  removeMembers(groupId: string, userIds: string[]): Promise<string[]>;
  /** Removes every member not in `keep`. */
  removeMembersExcept(groupId: string, keep: string[]): Promise<string[]>;
  removeMembersMatching(groupId: string, filter: Filter): Promise<string[]>;
  /** The group of the organization with this displayName (any letter case), its row locked until the transaction ends. */
  lockByDisplayName(organizationId: string, displayName: string): Promise<Group | null>;
  /** Removes the user from every group of the organization it belongs to (before the user is deleted); returns those groups' ids. */
  removeUserFromAll(organizationId: string, userId: string): Promise<string[]>;
}

/** Groups that grant roles (issue #15): the mappings, and the recompute of users' effective roles. */
export interface GroupRoleRepository {
  /** The group's mapping, if it has one (one primary-key lookup: what an unmapped group costs). */
  forGroup(groupId: string): Promise<GroupRoleMapping | null>;
  /** The organization's mappings, by group displayName. */
  list(organizationId: string): Promise<GroupRoleMapping[]>;
  /** Creates or replaces the group's mapping. */
  set(mapping: Pick<GroupRoleMapping, 'organizationId' | 'groupId' | 'organizationRole' | 'systemRole'>): Promise<void>;
  remove(groupId: string): Promise<boolean>;
  /**
   * Holds the organization's role lock until the transaction ends. Taken before any
   * change that recomputes effective roles (before its membership changes), so that each
   * recompute sees every membership change of a mapped group committed before it.
   */
  lockRoles(organizationId: string): Promise<void>;
  /**
   * forGroup, and when the group has a mapping, lockRoles of its organization, in one
   * round trip: what a membership change does first (inside the group's row lock, where
   * every round trip is waited for by the group's next change). `few`: the change adds or
   * removes a few users by id, so the store may plan the transaction's statements for
   * that (orm/group-role.repository.ts).
   */
  forGroupLockingRoles(groupId: string, change: { few: boolean }): Promise<GroupRoleMapping | null>;
  /**
   * Recomputes the effective roles of the users in `scope` in one statement: the
   * highest grant among the mapped groups each belongs to (by `precedence`), else the
   * directly set role. Returns the users whose roles or granting groups changed, before
   * and after. With `records`, the same statement writes each changed user's audit
   * events and provisioning event (RoleChangeRecords), the events appended as
   * EventOutbox.append does, once the users are locked.
   * Without it nothing is recorded (a repair of roles outside any change: the bench).
   */
  recompute(organizationId: string, scope: GroupRoleScope, precedence: GroupRolePrecedence, records?: RoleChangeRecords): Promise<RoleChange[]>;
}

export interface OrganizationRepository {
  findBySlug(slug: string): Promise<Organization | null>;
  findById(id: string): Promise<Organization | null>;
  list(): Promise<Organization[]>;
  insert(org: { slug: string; name: string }): Promise<Organization>;
  /**
   * The license, holding the organization's license lock exclusively (and its row) until
   * the transaction ends: waits for every license check in progress and serialises
   * with the next ones.
   */
  lockLicense(id: string): Promise<OrganizationLicense | null>;
  /**
   * Takes the organization's license lock shared until the transaction ends (shared
   * holders run side by side, never beside an exclusive one), then reads the license
   * and the users of one account type.
   */
  shareLicense(id: string, type: AccountType): Promise<SharedLicense | null>;
  license(id: string): Promise<OrganizationLicense | null>;
  setLicense(id: string, license: Partial<OrganizationLicense>): Promise<void>;
}

/** What a license check holding the license lock shared sees. */
export interface SharedLicense {
  license: OrganizationLicense;
  /** Users of the account type, committed. */
  users: number;
  /** How many users, at most, transactions in progress may be adding unseen (one each, one per database session). */
  unseenAtMost: number;
}

export interface SettingsRepository {
  /** Stored settings by key; keys not stored have their defaults. */
  all(): Promise<Record<string, unknown>>;
  set(key: string, value: unknown): Promise<void>;
}

export interface AuditEventInput {
  organizationId: string | null;
  credentialId: string | null;
  /** Who acted, in words: `credential <id>` or `cli`. */
  actor: string;
  action: string;
  targetType?: 'user' | 'group' | 'credential' | 'organization' | 'settings';
  targetId?: string;
  targetName?: string;
  details?: Record<string, unknown>;
}

export interface AuditEvent extends AuditEventInput {
  id: string;
  occurredAt: Date;
}

export interface AuditRepository {
  record(event: AuditEventInput): Promise<void>;
  /** Records many events in one statement, in order. */
  recordAll(events: AuditEventInput[]): Promise<void>;
  list(organizationId: string, since?: Date): Promise<AuditEvent[]>;
  /** The organization's events newest first: at most `limit`, those before `beforeId`, only those about `targetId` when given. */
  page(organizationId: string, options: AuditPageQuery): Promise<AuditEvent[]>;
}

export interface AuditPageQuery {
  limit: number;
  beforeId?: string;
  targetId?: string;
}

/**
 * The transactional outbox of provisioning events: a change appends its events in its
 * own transaction, so they commit or roll back with it.
 */
export interface EventOutbox {
  /** Appends in the change's transaction; the events become readable once it has committed. */
  append(events: DomainEvent[]): Promise<void>;
  /**
   * The organization's events, newest first: at most `limit`, those written at `since` or later.
   * Read outside a write, the reads see every event committed before them; inside a write,
   * they may miss the most recent ones (events are ordered after they commit).
   */
  recent(organizationId: string, since: Date | undefined, limit: number): Promise<StoredEvent[]>;
  /** Poll delivery (RFC 8936): the organization's events not yet acknowledged, oldest first, at most `limit`. */
  unacknowledged(organizationId: string, limit: number): Promise<StoredEvent[]>;
  /**
   * Records acknowledgements of the organization's events (an `error` for a `setErrs`
   * entry). An id that is not one of the organization's events, or is already
   * acknowledged, changes nothing.
   */
  acknowledge(organizationId: string, acks: EventAck[]): Promise<void>;
}

/** A poller's acknowledgement of one event: `ack`, or `setErrs` with its error. */
export interface EventAck {
  eventId: string;
  error?: { err: string; description?: string };
}

export interface CredentialRepository {
  /** The credential whose secret hashes to this value, revoked or not. */
  findBySecretHash(secretHash: string): Promise<Credential | null>;
  /** The secret hashes of every credential neither revoked nor expired at `at`. */
  activeSecretHashes(at: Date): Promise<string[]>;
  findById(id: string): Promise<Credential | null>;
  listByOrganization(organizationId: string): Promise<Credential[]>;
  insert(credential: Omit<Credential, 'id' | 'createdAt' | 'lastUsedAt' | 'revokedAt'> & { secretHash: string }): Promise<Credential>;
  revoke(id: string, at: Date): Promise<boolean>;
  markUsed(id: string, at: Date): Promise<void>;
}

export interface Repositories {
  users: UserRepository;
  groups: GroupRepository;
  groupRoles: GroupRoleRepository;
  organizations: OrganizationRepository;
  credentials: CredentialRepository;
  settings: SettingsRepository;
  audit: AuditRepository;
  events: EventOutbox;
}

/**
 * How services reach storage. `read` runs without a transaction; `write` runs the
 * whole function in one transaction on one connection: it commits when the function
 * returns and rolls back when it throws, so a refused change stores nothing.
 */
export interface UnitOfWork {
  read<T>(work: (repos: Repositories) => Promise<T>): Promise<T>;
  write<T>(work: (repos: Repositories) => Promise<T>, options?: WriteOptions): Promise<T>;
}

/** What a write can say of itself before it starts, so its first round trip does more. */
export interface WriteOptions {
  /**
   * The license the write will check shared (checkLicense in mode `shared`): the
   * organization's `shareLicense` is then taken with the transaction's BEGIN, and the
   * write's own first call for that organization and account type is answered from it,
   * so that call must come before the write changes who counts (a create checks before
   * its INSERT). A call for another organization or type, or a second call, goes to the
   * database as usual. The license lock is then the write's first: a create that its
   * authorization refuses has waited for it too (a shared lock, held until the
   * rollback).
   */
  sharesLicense?: { organizationId: string; type: AccountType };
}

/**
 * Turns a new password into what is stored. Slow on purpose (argon2id, ~200 ms of
 * CPU): callers hash outside any transaction, so no connection or lock is held while
 * it runs. `owner` is whose change it is (an organization id): a hasher with limits
 * (BoundedHasher) shares its capacity fairly among owners and may refuse with
 * DomainError `unavailable` when it is full.
 */
export interface PasswordHasher {
  hash(password: string, owner?: string): Promise<string>;
  /**
   * Optional: runs `work` in one of `owner`'s turns, its hashes made within it, so the
   * reads a password change needs before its hash wait for the turn too.
   */
  inTurn?<T>(owner: string, work: (hash: (password: string) => Promise<string>) => Promise<T>): Promise<T>;
}
