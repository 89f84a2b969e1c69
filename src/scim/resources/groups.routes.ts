import type { Router } from 'express';
import type { Actor } from '../../domain/actor';
import type { Group } from '../../domain/group';
import type { GroupService } from '../../domain/group.service';
import { assertVersion } from '../../domain/service-deps';
import { groupDraftFromScim, toScimGroup } from './group.mapper';
import { splitGroupPatch } from '../patch/group-patch';
import { listRequestFrom } from '../list/list-query';
import { applyPatch, parsePatchRequest } from '../patch/patch';
import { isExcluded, project, projectionFrom, type Projection } from '../list/projection';
import { pageResponse, resourceRouter, untilFresh, type ResourceWrites } from './resource-router';
import { groupSchemaIndex } from '../schema/schema-index';

/** Groups as SCIM resources; members are read only when the projection keeps them. */
export async function renderGroups(groups: GroupService, actor: Actor, baseUrl: string, list: Group[], projection: Projection) {
  const members = isExcluded(projection, 'members') ? undefined : await groups.membersOf(actor, list);
  return list.map((g) => project(toScimGroup(g, members?.get(g.id), baseUrl), projection));
}

/**
 * The writes of /Groups, shared by the routes and by Bulk so both run the same checks.
 * Each works out the group the client wants, then hands it to GroupService as data.
 */
export function groupWrites(groups: GroupService): ResourceWrites<Group> {
  return {
    create: async (actor, body) => groups.create(actor, groupDraftFromScim(body)),
    // The body is the whole desired state, members included (no basedOn).
    replace: async (actor, id, body, expectedVersion) => groups.update(actor, id, groupDraftFromScim(body), { expectedVersion, method: 'put' }),
    patch: async (actor, id, body, baseUrl, expectedVersion) => {
      const index = groupSchemaIndex();
      const { membership, rest } = splitGroupPatch(parsePatchRequest(body, index));
      // Members only: row inserts and deletes whatever is stored, so the draft changes no
      // attribute and depends on no version: concurrent member changes never conflict.
      if (rest.length === 0) return groups.update(actor, id, { membership }, { expectedVersion, method: 'patch' });
      return untilFresh(`Group:${actor.organizationId}:${id}`, async () => {
        const current = await groups.get(actor, id);
        // The precondition before the operations: a stale If-Match is 412 whatever they do.
        assertVersion(current.version, expectedVersion);
        const resource = applyPatch(toScimGroup(current, undefined, baseUrl), rest, index);
        const draft = { ...groupDraftFromScim(resource, { complete: true }), membership };
        return groups.update(actor, id, draft, { expectedVersion, basedOn: current.version, method: 'patch' });
      });
    },
    remove: (actor, id, expectedVersion) => groups.delete(actor, id, expectedVersion),
  };
}

/** /Groups: list, search, create, read, replace, patch, delete. `excludedAttributes=members` never reads members. */
export function groupsRouter(groups: GroupService, publicBaseUrl: string | undefined): Router {
  const render = (actor: Actor, baseUrl: string, items: Group[], projection: Projection) => renderGroups(groups, actor, baseUrl, items, projection);
  return resourceRouter<Group>(
    {
      writes: groupWrites(groups),
      read: (actor, id) => groups.get(actor, id),
      render,
      list: async (actor, params, baseUrl) => {
        const request = listRequestFrom(params);
        const page = await groups.list(actor, request.query);
        return { body: pageResponse(request, page, await render(actor, baseUrl, page.items, projectionFrom(params))) };
      },
    },
    publicBaseUrl,
  );
}
