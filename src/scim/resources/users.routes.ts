import type { Router } from 'express';
import type { Actor } from '../../domain/actor';
import { PasswordHashes } from '../../domain/password-hashing';
import { assertVersion } from '../../domain/service-deps';
import type { User } from '../../domain/user';
import type { UserService } from '../../domain/user.service';
import { listRequestFrom } from '../list/list-query';
import { listResponseText } from '../list/list-response';
import { applyPatch, parsePatchRequest } from '../patch/patch';
import { isExcluded, project, projectionFrom, type Projection } from '../list/projection';
import { pageResponse, resourceRouter, untilFresh, type ListAnswer, type ResourceWrites } from './resource-router';
import { userSchemaIndex } from '../schema/schema-index';
import type { QueryParams } from '../list/search';
import { hasRolesFromGroups, toScimUser, userDraftFromScim } from './user.mapper';

/** Users as SCIM resources, with `groups` read only when the projection keeps it. */
export async function renderUsers(
  users: UserService,
  actor: Actor,
  baseUrl: string,
  list: User[],
  projection: Projection,
  known?: Map<string, { id: string; displayName: string }[]>,
) {
  // The groups give the names of the groups granting roles (systemRoleSource, organizationRoleSource) too.
  const groups =
    isExcluded(projection, 'groups') && !list.some(hasRolesFromGroups)
      ? new Map<string, { id: string; displayName: string }[]>()
      : (known ??
        (await users.groupsOf(
          actor,
          list.map((u) => u.id),
        )));
  return list.map((u) => project(toScimUser(u, groups.get(u.id) ?? [], baseUrl), projection));
}

/**
 * The writes of /Users, shared by the routes and by Bulk so both run the same checks.
 * Each works out the user the client wants, then hands it to UserService as data.
 */
export function userWrites(users: UserService): ResourceWrites<User> {
  return {
    create: async (actor, body) => users.create(actor, userDraftFromScim(body, { create: true })),
    // The body is the whole desired state: stored over whatever is there (no basedOn).
    replace: async (actor, id, body, expectedVersion) => users.update(actor, id, userDraftFromScim(body), { expectedVersion, method: 'put' }),
    patch: async (actor, id, body, baseUrl, expectedVersion) => {
      const index = userSchemaIndex();
      const operations = parsePatchRequest(body, index);
      // A new password is hashed once however many attempts it takes.
      const hashes = new PasswordHashes();
      return untilFresh(`User:${actor.organizationId}:${id}`, async () => {
        const current = await users.get(actor, id);
        // The precondition before the operations: a stale If-Match is 412 whatever they do.
        assertVersion(current.version, expectedVersion);
        const draft = userDraftFromScim(applyPatch(toScimUser(current, [], baseUrl), operations, index), { complete: true });
        return users.update(actor, id, draft, { expectedVersion, basedOn: current.version, hashes, method: 'patch' });
      });
    },
    remove: (actor, id, expectedVersion) => users.delete(actor, id, expectedVersion),
  };
}

/** A page of users; with the default attributes, rendered by the store (orm/user-resource.ts). */
async function listUsers(users: UserService, actor: Actor, params: QueryParams, baseUrl: string): Promise<ListAnswer> {
  const request = listRequestFrom(params);
  const projection = projectionFrom(params);
  if (!projection.attributes && !projection.excluded) {
    const page = await users.listRendered(actor, request.query, baseUrl);
    return { text: listResponseText(pageResponse(request, page, page.resources)), read: { ids: page.ids, total: page.total } };
  }
  const includeGroups = !isExcluded(projection, 'groups');
  const page = await users.list(actor, { ...request.query, includeGroups });
  const resources = await renderUsers(users, actor, baseUrl, page.items, projection, page.groups);
  return { body: pageResponse(request, page, resources) };
}

/** /Users: list, search, create, read, replace, patch, delete. */
export function usersRouter(users: UserService, publicBaseUrl: string | undefined): Router {
  return resourceRouter<User>(
    {
      writes: userWrites(users),
      read: (actor, id) => users.get(actor, id),
      // A user just created is in no group: no query for its groups (one round trip less per create).
      render: (actor, baseUrl, items, projection, created) => renderUsers(users, actor, baseUrl, items, projection, created ? new Map() : undefined),
      list: (actor, params, baseUrl) => listUsers(users, actor, params, baseUrl),
    },
    publicBaseUrl,
  );
}
