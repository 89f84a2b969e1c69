import { Router, type Request, type Response } from 'express';
import type { User } from '../domain/user';
import type { UserService } from '../domain/user.service';
import { actorOf, expectedVersion, notModified, scimBaseUrl, sendNoContent, sendResource, sendScim, sendScimText, wantsBody } from './http';
import { nextCursor } from './cursor';
import { listRequestFrom } from './list-query';
import { cursorListResponse, listResponse, listResponseText } from './list-response';
import { applyPatch, parsePatchRequest, type PatchOperation } from './patch';
import { userSchemaIndex } from './schema-index';
import { isExcluded, project, projectionFrom, type Projection } from './projection';
import { searchParams, type QueryParams } from './search';
import type { Actor } from '../domain/actor';
import type { Page } from '../domain/ports';
import { toScimUser, userDraftFromScim } from './user.mapper';
import { handler } from './handler';

/** Users as SCIM resources, with `groups` read only when the projection keeps it. */
export async function renderUsers(
  users: UserService,
  actor: Actor,
  baseUrl: string,
  list: User[],
  projection: Projection,
  known?: Map<string, { id: string; displayName: string }[]>,
) {
  const groups = isExcluded(projection, 'groups')
    ? new Map<string, { id: string; displayName: string }[]>()
    : (known ?? (await users.groupsOf(actor, list.map((u) => u.id))));
  return list.map((u) => project(toScimUser(u, groups.get(u.id) ?? [], baseUrl), projection));
}

/** Whether a PATCH names a password (UserService then hashes it before its transaction). */
const namesPassword = (operations: PatchOperation[]) =>
  operations.some((o) =>
    o.path
      ? o.path.attribute.attribute.toLowerCase() === 'password'
      : typeof o.value === 'object' && o.value !== null && Object.keys(o.value).some((key) => /(^|:)password$/i.test(key)),
  );

/** The writes of /Users, shared by the routes and by Bulk so both run the same checks. */
export function userWrites(users: UserService) {
  return {
    create: (actor: Actor, body: unknown) => users.create(actor, userDraftFromScim(body)),
    replace: (actor: Actor, id: string, body: unknown, version?: number) => {
      const draft = userDraftFromScim(body);
      return users.update(actor, id, () => draft, version, { mayChangePassword: draft.password !== undefined });
    },
    patch: (actor: Actor, id: string, body: unknown, baseUrl: string, version?: number) => {
      const index = userSchemaIndex();
      const operations = parsePatchRequest(body, index);
      return users.update(
        actor,
        id,
        (current) => userDraftFromScim(applyPatch(toScimUser(current, [], baseUrl), operations, index), { complete: true }),
        version,
        { mayChangePassword: namesPassword(operations) },
      );
    },
    remove: (actor: Actor, id: string, version?: number) => users.delete(actor, id, version),
  };
}

/** /Users: list, search, create, read, replace, patch, delete. */
export function usersRouter(users: UserService, publicBaseUrl: string | undefined): Router {
  const router = Router();
  const base = (req: Request) => scimBaseUrl(req, publicBaseUrl);
  const writes = userWrites(users);

  const render = (req: Request, res: Response, list: User[], params: QueryParams = req.query, known?: Page<User>['groups']) =>
    renderUsers(users, actorOf(res), base(req), list, projectionFrom(params), known);

  async function list(req: Request, res: Response, params: QueryParams) {
    const { query, cursor } = listRequestFrom(params);
    const projection = projectionFrom(params);
    if (!projection.attributes && !projection.excluded) {
      // The default attributes: PostgreSQL renders each resource (orm/user-resource.ts).
      const page = await users.listRendered(actorOf(res), query, base(req));
      const response = cursor
        ? cursorListResponse(page.resources, page.total, nextCursor(cursor, query, page, page.resources.length))
        : listResponse(page.resources, page.total, query.startIndex);
      sendScimText(res, 200, listResponseText(response));
      return;
    }
    const includeGroups = !isExcluded(projection, 'groups');
    const page = await users.list(actorOf(res), { ...query, includeGroups });
    const resources = await render(req, res, page.items, params, page.groups);
    sendScim(
      res,
      200,
      cursor
        ? cursorListResponse(resources, page.total, nextCursor(cursor, query, page, page.items.length))
        : listResponse(resources, page.total, query.startIndex),
    );
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
      await respond(req, res, 201, await writes.create(actorOf(res), req.body));
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
      await respond(req, res, 200, await writes.replace(actorOf(res), req.params.id as string, req.body, expectedVersion(req)));
    }),
  );

  router.patch(
    '/:id',
    handler(async (req, res) => {
      const user = await writes.patch(actorOf(res), req.params.id as string, req.body, base(req), expectedVersion(req));
      if (wantsBody(req)) await respond(req, res, 200, user);
      else sendNoContent(res, user.version);
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
