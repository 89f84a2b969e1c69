import { Router, type Request, type Response } from 'express';
import type { Group } from '../domain/group';
import type { GroupService } from '../domain/group.service';
import { groupDraftFromScim, toScimGroup } from './group.mapper';
import { handler } from './handler';
import { actorOf, expectedVersion, notModified, scimBaseUrl, sendNoContent, sendResource, sendScim, wantsBody } from './http';
import { nextCursor } from './cursor';
import { listRequestFrom } from './list-query';
import { cursorListResponse, listResponse } from './list-response';
import { planGroupPatch } from './group-patch';
import { parsePatchRequest } from './patch';
import { groupSchemaIndex } from './schema-index';
import { isExcluded, project, projectionFrom, type Projection } from './projection';
import { searchParams, type QueryParams } from './search';
import type { Actor } from '../domain/actor';

/** Groups as SCIM resources; members are read only when the projection keeps them. */
export async function renderGroups(groups: GroupService, actor: Actor, baseUrl: string, list: Group[], projection: Projection) {
  const members = isExcluded(projection, 'members') ? undefined : await groups.membersOf(actor, list);
  return list.map((g) => project(toScimGroup(g, members?.get(g.id), baseUrl), projection));
}

/** The writes of /Groups, shared by the routes and by Bulk so both run the same checks. */
export function groupWrites(groups: GroupService) {
  return {
    create: (actor: Actor, body: unknown) => groups.create(actor, groupDraftFromScim(body)),
    replace: (actor: Actor, id: string, body: unknown, version?: number) => {
      const draft = groupDraftFromScim(body);
      return groups.update(actor, id, () => draft, version);
    },
    patch: (actor: Actor, id: string, body: unknown, baseUrl: string, version?: number) => {
      const index = groupSchemaIndex();
      const operations = parsePatchRequest(body, index);
      return groups.update(
        actor,
        id,
        (current) => {
          const plan = planGroupPatch(toScimGroup(current, undefined, baseUrl), operations, index);
          return { ...groupDraftFromScim(plan.resource, { complete: true }), membership: plan.membership };
        },
        version,
      );
    },
    remove: (actor: Actor, id: string, version?: number) => groups.delete(actor, id, version),
  };
}

/** /Groups: list, search, create, read, replace, patch, delete. `excludedAttributes=members` never reads members. */
export function groupsRouter(groups: GroupService, publicBaseUrl: string | undefined): Router {
  const router = Router();
  const base = (req: Request) => scimBaseUrl(req, publicBaseUrl);
  const writes = groupWrites(groups);

  const render = (req: Request, res: Response, list: Group[], params: QueryParams = req.query) =>
    renderGroups(groups, actorOf(res), base(req), list, projectionFrom(params));

  async function list(req: Request, res: Response, params: QueryParams) {
    const { query, cursor } = listRequestFrom(params);
    const page = await groups.list(actorOf(res), query);
    const resources = await render(req, res, page.items, params);
    sendScim(
      res,
      200,
      cursor
        ? cursorListResponse(resources, page.total, nextCursor(cursor, query, page, page.items.length))
        : listResponse(resources, page.total, query.startIndex),
    );
  }

  async function respond(req: Request, res: Response, status: number, group: Group) {
    const [resource] = await render(req, res, [group]);
    sendResource(res, status, resource);
  }

  router.get('/', handler((req, res) => list(req, res, req.query)));
  router.post('/.search', handler((req, res) => list(req, res, searchParams(req.body))));

  router.post(
    '/',
    handler(async (req, res) => {
      await respond(req, res, 201, await writes.create(actorOf(res), req.body));
    }),
  );

  router.get(
    '/:id',
    handler(async (req, res) => {
      const group = await groups.get(actorOf(res), req.params.id as string);
      if (notModified(req, group.version)) {
        res.status(304).setHeader('ETag', `W/"${group.version}"`).end();
        return;
      }
      await respond(req, res, 200, group);
    }),
  );

  router.put(
    '/:id',
    handler(async (req, res) => {
      await respond(req, res, 200, await writes.replace(actorOf(res), req.params.id as string, req.body, expectedVersion(req)));
    }),
  );

  router.patch(
    '/:id',
    handler(async (req, res) => {
      const group = await writes.patch(actorOf(res), req.params.id as string, req.body, base(req), expectedVersion(req));
      if (wantsBody(req)) await respond(req, res, 200, group);
      else sendNoContent(res, group.version);
    }),
  );

  router.delete(
    '/:id',
    handler(async (req, res) => {
      await writes.remove(actorOf(res), req.params.id as string, expectedVersion(req));
      res.status(204).end();
    }),
  );

  return router;
}
