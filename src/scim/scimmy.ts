import SCIMMY from 'scimmy';
import { rosterUserExtension } from '../extensions/roster-user';
import { BULK_MAX_OPERATIONS, BULK_MAX_PAYLOAD_BYTES, MAX_RESULTS } from './limits';

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE_USER_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const LIST_RESPONSE_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const PATCH_OP_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';


let configured = false;

/**
 * scimmy keeps its schemas and service provider configuration in module state:
 * set them up once per process. Roster serves the HTTP side itself (see
 * docs/architecture.md); scimmy supplies schema definitions, validation, PATCH
 * application and the discovery documents.
 */
export function configureScimmy(): typeof SCIMMY {
  if (configured) return SCIMMY;
  SCIMMY.Resources.declare(
    SCIMMY.Resources.User.extend(SCIMMY.Schemas.EnterpriseUser, false).extend(rosterUserExtension as never, false),
  );
  SCIMMY.Resources.declare(SCIMMY.Resources.Group);
  SCIMMY.Config.set({
    patch: true,
    filter: { supported: true, maxResults: MAX_RESULTS },
    sort: true,
    bulk: { supported: true, maxOperations: BULK_MAX_OPERATIONS, maxPayloadSize: BULK_MAX_PAYLOAD_BYTES },
    etag: true,
    changePassword: true,
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'OAuth Bearer Token',
        description: 'A provisioning token issued with `roster token create`, sent as `Authorization: Bearer <token>`.',
        primary: true,
      },
    ],
  });
  configured = true;
  return SCIMMY;
}

export { SCIMMY };
