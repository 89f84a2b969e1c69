import { Router, type Request } from 'express';
import { ISSUED_EVENT_URIS } from '../../events/uris';
import { forbidden, notFound } from '../http/errors';
import { handler } from '../http/handler';
import { scimBaseUrl, sendScim } from '../http/http';
import { DEFAULT_COUNT } from '../list/list-query';
import { MAX_RESULTS } from '../http/limits';
import { listResponse } from '../list/list-response';
import { SCIMMY, withSuggestedValues } from '../schema/scimmy';

type Json = Record<string, unknown>;

export const RESOURCE_TYPE_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';

/** Points a discovery document's meta.location at this server's absolute URL. */
function located(resource: Json, base: string, path: string): Json {
  const meta = (resource.meta as Json | undefined) ?? {};
  return { ...resource, meta: { ...meta, location: `${base}${path}` } };
}

/** /ServiceProviderConfig, /Schemas and /ResourceTypes, from scimmy's declarations. */
export function discoveryRouter(publicBaseUrl: string | undefined): Router {
  const router = Router();
  const base = (req: Request) => scimBaseUrl(req, publicBaseUrl);

  router.get(
    // `/serviceConfiguration` is the path Microsoft's SCIM reference code serves.
    ['/ServiceProviderConfig', '/serviceConfiguration'],
    handler(async (req, res) => {
      const config = JSON.parse(JSON.stringify(await new SCIMMY.Resources.ServiceProviderConfig().read())) as Json;
      // RFC 9865: index and cursor paging; cursors do not expire (they hold a keyset position).
      config.pagination = {
        cursor: true,
        index: true,
        defaultPaginationMethod: 'index',
        defaultPageSize: DEFAULT_COUNT,
        maxPageSize: MAX_RESULTS,
      };
      // RFC 9967 section 4: the SET event URIs Roster can issue (signed with the keys of
      // /.well-known/jwks.json); no asynchronous SCIM requests.
      config.securityEvents = { asyncRequest: 'none', eventUris: [...ISSUED_EVENT_URIS] };
      sendScim(res, 200, located(config, base(req), '/ServiceProviderConfig'));
    }),
  );

  const schemas = () => SCIMMY.Schemas.declared().map((definition) => withSuggestedValues(JSON.parse(JSON.stringify(definition.describe())) as Json));
  const resourceTypes = () =>
    Object.values(SCIMMY.Resources.declared() as Record<string, { describe(): unknown }>)
      .filter((r) => ['User', 'Group'].includes((r.describe() as Json).name as string))
      // RFC 7643 sections 3 and 6: a ResourceType resource names its schema like any other.
      .map((r): Json => ({ schemas: [RESOURCE_TYPE_SCHEMA], ...(JSON.parse(JSON.stringify(r.describe())) as Json) }));

  // RFC 7644 section 4: discovery endpoints do not filter; a filter SHOULD be refused with 403.
  router.get(['/Schemas', '/ResourceTypes'], (req, _res, next) => {
    if (req.query.filter !== undefined) throw forbidden('discovery.filter_refused', 'discovery endpoints do not take a filter');
    next();
  });
  router.get(
    '/Schemas',
    handler(async (req, res) => {
      const all = schemas().map((s) => located(s, base(req), `/Schemas/${s.id}`));
      sendScim(res, 200, listResponse(all, all.length, 1));
    }),
  );
  router.get(
    '/Schemas/:id',
    handler(async (req, res) => {
      const found = schemas().find((s) => s.id === req.params.id);
      if (!found) throw notFound('discovery.schema_not_found', 'Schema not found');
      sendScim(res, 200, located(found, base(req), `/Schemas/${found.id}`));
    }),
  );
  router.get(
    '/ResourceTypes',
    handler(async (req, res) => {
      const all = resourceTypes().map((r) => located(r, base(req), `/ResourceTypes/${r.id ?? r.name}`));
      sendScim(res, 200, listResponse(all, all.length, 1));
    }),
  );
  router.get(
    '/ResourceTypes/:id',
    handler(async (req, res) => {
      const found = resourceTypes().find((r) => (r.id ?? r.name) === req.params.id);
      if (!found) throw notFound('discovery.resource_type_not_found', 'ResourceType not found');
      sendScim(res, 200, located(found, base(req), `/ResourceTypes/${found.id ?? found.name}`));
    }),
  );
  return router;
}
