import { Router, type Request, type Response } from 'express';
import type { Group } from '../domain/group';
import type { GroupService } from '../domain/group.service';
import { groupDraftFromScim, toScimGroup } from './group.mapper';
import { handler } from './handler';
import { actorOf, expectedVersion, notModified, scimBaseUrl, sendNoContent, sendResource, sendScim, wantsBody } from './http';
import { listQueryFrom } from './list-query';
import { listResponse } from './list-response';
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

/** /Groups: list, search, create, read, replace, patch, delete. `excludedAttributes=members` never reads members. */
export function groupsRouter(groups: GroupService, publicBaseUrl: string | undefined): Router {
  const router = Router();
  const base = (req: Request) => scimBaseUrl(req, publicBaseUrl);

  const render = (req: Request, res: Response, list: Group[], params: QueryParams = req.query) =>
    renderGroups(groups, actorOf(res), base(req), list, projectionFrom(params));

  async function list(req: Request, res: Response, params: QueryParams) {
    const query = listQueryFrom(params);
    const page = await groups.list(actorOf(res), query);
    sendScim(res, 200, listResponse(await render(req, res, page.items, params), page.total, query.startIndex));
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
      const group = await groups.create(actorOf(res), groupDraftFromScim(req.body));
      await respond(req, res, 201, group);
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
      const draft = groupDraftFromScim(req.body);
      const group = await groups.update(actorOf(res), req.params.id as string, () => draft, expectedVersion(req));
      await respond(req, res, 200, group);
    }),
  );

  router.patch(
    '/:id',
    handler(async (req, res) => {
      const index = groupSchemaIndex();
      const operations = parsePatchRequest(req.body, index);
      const group = await groups.update(
        actorOf(res),
        req.params.id as string,
        (current) => {
          const plan = planGroupPatch(toScimGroup(current, undefined, base(req)), operations, index);
          return { ...groupDraftFromScim(plan.resource), membership: plan.membership };
        },
        expectedVersion(req),
      );
      if (wantsBody(req)) await respond(req, res, 200, group);
      else sendNoContent(res, group.version);
    }),
  );

  router.delete(
    '/:id',
    handler(async (req, res) => {
      await groups.delete(actorOf(res), req.params.id as string, expectedVersion(req));
      res.status(204).end();
    }),
  );

  return router;
}
