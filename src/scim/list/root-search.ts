import { Router } from 'express';
import { DomainError } from '../../domain/errors';
import type { GroupService } from '../../domain/group.service';
import type { Page } from '../../domain/ports';
import type { UserService } from '../../domain/user.service';
import { renderGroups } from '../resources/groups.routes';
import { invalidValue } from '../http/errors';
import { handler } from '../http/handler';
import { actorOf, scimBaseUrl, sendScim } from '../http/http';
import { listQueryFrom } from './list-query';
import { listResponse } from './list-response';
import { projectionFrom } from './projection';
import { searchParams } from './search';
import { renderUsers } from '../resources/users.routes';

/**
 * `POST /.search` at the service root (RFC 7644 section 3.4.3): Users, then Groups,
 * paged as one sequence. A filter that names an attribute only one resource type
 * has matches nothing of the other; a filter neither understands is a 400.
 */
export function rootSearchRouter(users: UserService, groups: GroupService, publicBaseUrl: string | undefined): Router {
  const router = Router();
  router.post(
    '/.search',
    handler(async (req, res) => {
      const params = searchParams(req.body);
      if (params.cursor !== undefined) {
        throw invalidValue('search.cursor_across_types', 'cursor paging is offered on /Users/.search and /Groups/.search, not across resource types');
      }
      const query = { ...listQueryFrom(params), unknownAttributesMatchNothing: true };
      const projection = projectionFrom(params);
      const actor = actorOf(res);
      const baseUrl = scimBaseUrl(req, publicBaseUrl);

      const userTotal = await countOrNothing(() => users.list(actor, { ...query, count: 0 }));
      const groupTotal = await countOrNothing(() => groups.list(actor, { ...query, count: 0 }));
      if (userTotal === undefined && groupTotal === undefined) {
        await users.list(actor, { ...query, count: 0 }); // throws the filter error
      }
      const resources: unknown[] = [];
      const start = query.startIndex;
      const end = start + query.count; // exclusive, 1-based
      const userCount = userTotal ?? 0;
      if (userTotal && start <= userCount && query.count > 0) {
        const page = await users.list(actor, { ...query, startIndex: start, count: Math.min(query.count, userCount - start + 1) });
        resources.push(...(await renderUsers(users, actor, baseUrl, page.items, projection)));
      }
      if (groupTotal && end > userCount + 1 && query.count > 0) {
        const groupStart = Math.max(1, start - userCount);
        const page = await groups.list(actor, { ...query, startIndex: groupStart, count: query.count - resources.length });
        resources.push(...(await renderGroups(groups, actor, baseUrl, page.items, projection)));
      }
      sendScim(res, 200, listResponse(resources, userCount + (groupTotal ?? 0), start));
    }),
  );
  return router;
}

async function countOrNothing(list: () => Promise<Page<unknown>>): Promise<number | undefined> {
  try {
    return (await list()).total;
  } catch (error) {
    if (error instanceof DomainError && (error.kind === 'invalid_filter' || error.code === 'sort.invalid')) return undefined;
    throw error;
  }
}
