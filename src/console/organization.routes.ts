import type { Request, Router } from 'express';
import type { Logger } from 'pino';
import type { Actor } from '../domain/actor';
import type { CredentialService } from '../domain/credential.service';
import type { GroupService } from '../domain/group.service';
import type { Organization } from '../domain/organization';
import type { OrganizationService } from '../domain/organization.service';
import { deliveriesOf, type ReceiverStore } from '../domain/receivers';
import { badRequest, bodyText, consoleLocals, handler, queryInteger, queryText } from './http';
import { credentialView } from '../domain/credential';
import { auditView } from './views';

export interface OrganizationDeps {
  credentials: CredentialService;
  groups: GroupService;
  organizations: OrganizationService;
  receivers: ReceiverStore;
  /** The SCIM base URL identity providers are given, as this request reached Roster. */
  scimBaseUrl: (req: Request) => string;
  logger: Logger;
}

const scoped = (res: Parameters<Parameters<typeof handler>[1]>[1]) => {
  const locals = consoleLocals(res);
  return { actor: locals.consoleActor as Actor, organization: locals.organization as Organization };
};

/** Connection (tokens), Groups, Audit, Organization, Receivers: every route scoped to `/orgs/:org`. */
export function addOrganizationRoutes(router: Router, deps: OrganizationDeps): void {
  addConnectionAndGroupRoutes(router, deps);
  addReportRoutes(router, deps);
}

function addConnectionAndGroupRoutes(router: Router, deps: OrganizationDeps): void {
  const { logger } = deps;
  router.get(
    '/orgs/:org/connection',
    handler(logger, async (req, res) => {
      const { actor, organization } = scoped(res);
      const tokens = await deps.credentials.list(actor.organizationId);
      return { organization: { slug: organization.slug, name: organization.name }, scimBaseUrl: deps.scimBaseUrl(req), tokens: tokens.map(credentialView) };
    }),
  );
  router.post(
    '/orgs/:org/tokens',
    handler(logger, async (req, res) => {
      const { actor } = scoped(res);
      const name = bodyText(req, 'name', 100)?.trim() || 'provisioning';
      const days = (req.body as Record<string, unknown>)?.expiresInDays;
      if (days !== undefined && days !== null && typeof days !== 'number') throw badRequest('console.body_invalid', 'expiresInDays must be a number');
      const { credential, secret } = await deps.credentials.issueAs(actor, { name, ...(typeof days === 'number' ? { expiresInDays: days } : {}) });
      return { token: credentialView(credential), secret };
    }),
  );
  router.post(
    '/orgs/:org/tokens/:id/revoke',
    handler(logger, async (req, res) => ({ token: credentialView(await deps.credentials.revokeAs(scoped(res).actor, String(req.params.id))) })),
  );
  router.get(
    '/orgs/:org/groups',
    handler(logger, async (req, res) => {
      const { actor } = scoped(res);
      const search = queryText(req, 'q', 256)?.trim();
      const startIndex = queryInteger(req, 'startIndex', 1, 1, 1_000_000_000);
      const count = queryInteger(req, 'count', 25, 1, 200);
      const page = await deps.groups.list(actor, {
        ...(search ? { filter: { kind: 'compare', path: { attribute: 'displayName' }, op: 'co', value: search } } : {}),
        startIndex,
        count,
        sortBy: { attribute: { attribute: 'displayName' }, descending: false },
      });
      return { total: page.total, startIndex, count, groups: page.items.map((g) => ({ id: g.id, displayName: g.displayName, externalId: g.externalId })) };
    }),
  );
  router.get(
    '/orgs/:org/groups/:id',
    handler(logger, async (req, res) => {
      const startIndex = queryInteger(req, 'startIndex', 1, 1, 1_000_000_000);
      const count = queryInteger(req, 'count', 50, 1, 200);
      const { group, total, members } = await deps.groups.memberPage(scoped(res).actor, String(req.params.id), startIndex - 1, count);
      return {
        group: {
          id: group.id,
          displayName: group.displayName,
          externalId: group.externalId,
          createdAt: group.createdAt.toISOString(),
          updatedAt: group.updatedAt.toISOString(),
        },
        members: { total, startIndex, count, items: members.map((m) => ({ id: m.userId, display: m.display })) },
      };
    }),
  );
}

function addReportRoutes(router: Router, deps: OrganizationDeps): void {
  const { logger } = deps;
  router.get(
    '/orgs/:org/audit',
    handler(logger, async (req, res) => {
      const before = queryText(req, 'before', 20);
      if (before !== undefined && !/^\d{1,19}$/.test(before)) throw badRequest('console.parameter_invalid', 'before must be an event id');
      const count = queryInteger(req, 'count', 50, 1, 200);
      const events = await deps.organizations.auditPage(scoped(res).actor, { limit: count, ...(before ? { beforeId: before } : {}) });
      return { events: events.map(auditView), next: events.length === count ? events[events.length - 1].id : null };
    }),
  );
  router.get(
    '/orgs/:org/organization',
    handler(logger, async (_req, res) => {
      const { organization, license, counts } = await deps.organizations.usage(scoped(res).actor);
      return { organization: { slug: organization.slug, name: organization.name, createdAt: organization.createdAt.toISOString() }, license, counts };
    }),
  );
  router.get(
    '/orgs/:org/receivers',
    handler(logger, async (_req, res) => {
      const { actor, organization } = scoped(res);
      const receivers = await deps.receivers.list(actor.organizationId);
      const events = await deps.organizations.events(organization.slug, undefined, 50);
      return {
        receivers: receivers.map((r) => ({
          id: r.id,
          url: r.url,
          audience: r.audience,
          events: r.events,
          createdAt: r.createdAt.toISOString(),
          pending: r.pending,
          lastDeliveredAt: r.lastDeliveredAt?.toISOString() ?? null,
          attempts: r.attempts,
          nextAttemptAt: r.nextAttemptAt?.toISOString() ?? null,
          lastError: r.lastError,
          failing: r.failing,
          failingSince: r.failingSince?.toISOString() ?? null,
        })),
        events: events.map((e) => ({
          id: e.id,
          time: e.createdAt.toISOString(),
          resourceType: e.resourceType,
          resourceId: e.resourceId,
          events: e.eventUris,
          attributes: e.attributes,
          deliveries: deliveriesOf(e, receivers),
        })),
      };
    }),
  );
}
