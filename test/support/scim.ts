import type { Express } from 'express';
import request from 'supertest';

export const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const ROSTER = 'urn:ietf:params:scim:schemas:extension:roster:2.0:User';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** A SCIM client bound to one token: paths are relative to /scim/v2. */
export function scimClient(app: Express, token: string) {
  const prepare = (test: request.Test) => test.set('Authorization', `Bearer ${token}`).set('Accept', 'application/scim+json');
  const withBody = (test: request.Test, body: unknown) =>
    prepare(test)
      .set('Content-Type', 'application/scim+json')
      .send(body as object);
  return {
    get: (path: string) => prepare(request(app).get(`/scim/v2${path}`)),
    delete: (path: string) => prepare(request(app).delete(`/scim/v2${path}`)),
    post: (path: string, body: unknown) => withBody(request(app).post(`/scim/v2${path}`), body),
    put: (path: string, body: unknown) => withBody(request(app).put(`/scim/v2${path}`), body),
    patch: (path: string, body: unknown) => withBody(request(app).patch(`/scim/v2${path}`), body),
  };
}

export type ScimClient = ReturnType<typeof scimClient>;

export function userBody(userName: string, extra: Record<string, unknown> = {}) {
  const [given = 'Test', family = 'User'] = userName.split('@')[0].split('.');
  return {
    schemas: [USER],
    userName,
    name: { givenName: given, familyName: family },
    emails: [{ value: userName, type: 'work', primary: true }],
    active: true,
    ...extra,
  };
}

export function patchOp(...operations: Record<string, unknown>[]) {
  return { schemas: [PATCH_OP], Operations: operations };
}

/** Asserts a response is a SCIM error with this status (and scimType). */
export function expectScimError(response: request.Response, status: number, scimType?: string) {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/scim\+json/);
  expect(response.body.schemas).toEqual([ERROR]);
  expect(response.body.status).toBe(String(status));
  if (scimType) expect(response.body.scimType).toBe(scimType);
  expect(typeof response.body.detail).toBe('string');
}
