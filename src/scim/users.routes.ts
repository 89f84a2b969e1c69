import { Router, type Request, type Response } from 'express';
import type { User } from '../domain/user';
import type { UserService } from '../domain/user.service';
import { actorOf, expectedVersion, notModified, scimBaseUrl, sendNoContent, sendResource, sendScim, wantsBody } from './http';
import { listQueryFrom } from './list-query';
import { listResponse } from './list-response';
import { applyPatch, parsePatchRequest } from './patch';
import { userSchemaIndex } from './schema-index';
import { isExcluded, project, projectionFrom } from './projection';
import { toScimUser, userDraftFromScim } from './user.mapper';
import { handler } from './handler';

/** /Users: list, create, read, replace, patch, delete. */
export function usersRouter(users: UserService, publicBaseUrl: string | undefined): Router {
  const router = Router();
  const base = (req: Request) => scimBaseUrl(req, publicBaseUrl);

  async function render(req: Request, res: Response, list: User[]) {
    const projection = projectionFrom(req.query);
    const groups = isExcluded(projection, 'groups')
      ? new Map<string, { id: string; displayName: string }[]>()
      : await users.groupsOf(actorOf(res), list.map((u) => u.id));
    return list.map((u) => project(toScimUser(u, groups.get(u.id) ?? [], base(req)), projection));
  }

  async function respond(req: Request, res: Response, status: number, user: User) {
    const [resource] = await render(req, res, [user]);
    sendResource(res, status, resource);
  }

  router.get(
    '/',
    handler(async (req, res) => {
      const query = listQueryFrom(req.query);
      const page = await users.list(actorOf(res), query);
      sendScim(res, 200, listResponse(await render(req, res, page.items), page.total, query.startIndex));
    }),
  );

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
