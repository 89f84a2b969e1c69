import { Router, type Request, type Response } from 'express';
import type { User } from '../domain/user';
import type { UserService } from '../domain/user.service';
import { actorOf, expectedVersion, notModified, scimBaseUrl, sendNoContent, sendResource, sendScim, wantsBody } from './http';
import { listQueryFrom } from './list-query';
import { listResponse } from './list-response';
import { applyPatch, parsePatchRequest } from './patch';
import { userSchemaIndex } from './schema-index';
import { isExcluded, project, projectionFrom, type Projection } from './projection';
import { searchParams, type QueryParams } from './search';
import type { Actor } from '../domain/actor';
import { toScimUser, userDraftFromScim } from './user.mapper';
import { handler } from './handler';

/** Users as SCIM resources, with `groups` read only when the projection keeps it. */
export async function renderUsers(users: UserService, actor: Actor, baseUrl: string, list: User[], projection: Projection) {
  const groups = isExcluded(projection, 'groups')
    ? new Map<string, { id: string; displayName: string }[]>()
    : await users.groupsOf(actor, list.map((u) => u.id));
  return list.map((u) => project(toScimUser(u, groups.get(u.id) ?? [], baseUrl), projection));
}

/** /Users: list, search, create, read, replace, patch, delete. */
export function usersRouter(users: UserService, publicBaseUrl: string | undefined): Router {
  const router = Router();
  const base = (req: Request) => scimBaseUrl(req, publicBaseUrl);

  const render = (req: Request, res: Response, list: User[], params: QueryParams = req.query) =>
    renderUsers(users, actorOf(res), base(req), list, projectionFrom(params));

  async function list(req: Request, res: Response, params: QueryParams) {
    const query = listQueryFrom(params);
    const page = await users.list(actorOf(res), query);
    sendScim(res, 200, listResponse(await render(req, res, page.items, params), page.total, query.startIndex));
  }

  async function respond(req: Request, res: Response, status: number, user: User) {
    const [resource] = await render(req, res, [user]);
    sendResource(res, status, resource);
  }

  router.get('/', handler((req, res) => list(req, res, req.query)));
  router.post('/.search', handler((req, res) => list(req, res, searchParams(req.body))));

  router.post(
    '/',
    handler(async (req, res) => {
      const user = await users.create(actorOf(res), userDraftFromScim(req.body));
      await respond(req, res, 201, user);
    }),
  );

  router.get(
    '/:id',
    handler(async (req, res) => {
      const user = await users.get(actorOf(res), req.params.id as string);
      if (notModified(req, user.version)) {
        res.status(304).setHeader('ETag', `W/"${user.version}"`).end();
        return;
      }
      await respond(req, res, 200, user);
    }),
  );

  router.put(
    '/:id',
    handler(async (req, res) => {
      const draft = userDraftFromScim(req.body);
      const user = await users.update(actorOf(res), req.params.id as string, () => draft, expectedVersion(req));
      await respond(req, res, 200, user);
    }),
  );

  router.patch(
    '/:id',
    handler(async (req, res) => {
      const index = userSchemaIndex();
      const operations = parsePatchRequest(req.body, index);
      const user = await users.update(
        actorOf(res),
        req.params.id as string,
        (current) => userDraftFromScim(applyPatch(toScimUser(current, [], base(req)), operations, index)),
        expectedVersion(req),
      );
      if (wantsBody(req)) await respond(req, res, 200, user);
      else sendNoContent(res, user.version);
    }),
  );

  router.delete(
    '/:id',
    handler(async (req, res) => {
      await users.delete(actorOf(res), req.params.id as string, expectedVersion(req));
      res.status(204).end();
    }),
  );

  return router;
}
