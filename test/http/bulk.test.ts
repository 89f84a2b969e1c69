import { startTestRoster, type TestRoster } from '../support/roster';
import { GROUP, USER, expectScimError, patchOp, scimClient, userBody, type ScimClient } from '../support/scim';

const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';

let t: TestRoster;
let scim: ScimClient;
beforeAll(async () => {
  t = await startTestRoster();
  scim = scimClient(t.app, t.token);
});
afterAll(() => t.close());

const bulk = (Operations: unknown[], extra: Record<string, unknown> = {}) => scim.post('/Bulk', { schemas: [BULK], Operations, ...extra });
const count = async (filter: string, type = 'Users') =>
  (await scim.get(`/${type}?filter=${encodeURIComponent(filter)}`).expect(200)).body.totalResults as number;

describe('Bulk', () => {
  it('creates a user and a group that refers to it by bulkId', async () => {
    const res = await bulk([
      { method: 'POST', path: '/Users', bulkId: 'u1', data: userBody('bulk.one@example.com') },
      { method: 'POST', path: '/Groups', bulkId: 'g1', data: { schemas: [GROUP], displayName: 'Bulk Group', members: [{ value: 'bulkId:u1' }] } },
    ]).expect(200);
    expect(res.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:BulkResponse']);
    expect(res.body.Operations.map((o: { status: string }) => o.status)).toEqual(['201', '201']);
    const [user, group] = res.body.Operations;
    expect(user.location).toMatch(/\/scim\/v2\/Users\/[0-9a-f-]{36}$/);
    const read = await scim.get(group.location.replace(/^.*\/scim\/v2/, '')).expect(200);
    expect(read.body.members.map((m: { value: string }) => m.value)).toEqual([user.location.split('/').pop()]);
  });

  it('resolves a forward reference by creating the referenced resource first, once', async () => {
    const res = await bulk([
      { method: 'POST', path: '/Groups', bulkId: 'g2', data: { schemas: [GROUP], displayName: 'Forward Group', members: [{ value: 'bulkId:u2' }] } },
      { method: 'POST', path: '/Users', bulkId: 'u2', data: userBody('bulk.forward@example.com') },
    ]).expect(200);
    expect(res.body.Operations.map((o: { bulkId: string; status: string }) => `${o.bulkId}:${o.status}`)).toEqual(['u2:201', 'g2:201']);
    expect(await count('userName eq "bulk.forward@example.com"')).toBe(1);
    const group = await scim.get(res.body.Operations[1].location.replace(/^.*\/scim\/v2/, '')).expect(200);
    expect(group.body.members).toHaveLength(1);
  });

  it('refuses unknown and circular references with 409 and creates nothing for them', async () => {
    const res = await bulk([
      { method: 'POST', path: '/Groups', bulkId: 'a', data: { schemas: [GROUP], displayName: 'Cycle A', members: [{ value: 'bulkId:b' }] } },
      { method: 'POST', path: '/Groups', bulkId: 'b', data: { schemas: [GROUP], displayName: 'Cycle B', members: [{ value: 'bulkId:a' }] } },
      { method: 'POST', path: '/Groups', bulkId: 'c', data: { schemas: [GROUP], displayName: 'Dangling', members: [{ value: 'bulkId:nowhere' }] } },
    ]).expect(200);
    expect(res.body.Operations.map((o: { status: string }) => o.status)).toEqual(['409', '409', '409']);
    expect(res.body.Operations[0].response.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
    expect(await count('displayName sw "Cycle" or displayName eq "Dangling"', 'Groups')).toBe(0);
  });

  it('runs updates and deletes through the same checks, reporting each outcome', async () => {
    const { id } = (await scim.post('/Users', userBody('bulk.change@example.com')).expect(201)).body;
    const res = await bulk([
      { method: 'PATCH', path: `/Users/${id}`, data: patchOp({ op: 'replace', path: 'title', value: 'Bulked' }) },
      { method: 'PUT', path: `/Users/${id}`, version: 'W/"1"', data: userBody('bulk.change@example.com') },
      { method: 'POST', path: '/Users', bulkId: 'bad', data: { schemas: [USER] } },
      { method: 'DELETE', path: '/Users/00000000-0000-4000-8000-000000000000' },
    ]).expect(200);
    expect(res.body.Operations.map((o: { status: string }) => o.status)).toEqual(['200', '412', '400', '404']);
    expect(res.body.Operations[2].response.scimType).toBe('invalidValue');
    expect((await scim.get(`/Users/${id}`)).body.title).toBe('Bulked');
  });

  it('stops after failOnErrors errors', async () => {
    const res = await bulk(
      [
        { method: 'POST', path: '/Users', bulkId: 'x1', data: { schemas: [USER] } },
        { method: 'POST', path: '/Users', bulkId: 'x2', data: userBody('never.reached@example.com') },
      ],
      { failOnErrors: 1 },
    ).expect(200);
    expect(res.body.Operations).toHaveLength(1);
    expect(await count('userName eq "never.reached@example.com"')).toBe(0);
  });

  it('refuses more operations than maxOperations with 413', async () => {
    const operations = Array.from({ length: 1001 }, (_, i) => ({ method: 'DELETE', path: `/Users/${i}` }));
    expectScimError(await bulk(operations), 413);
  });

  it('refuses a payload over maxPayloadSize with 413', async () => {
    const huge = userBody('huge@example.com', { displayName: 'x'.repeat(1_100_000) });
    expectScimError(await bulk([{ method: 'POST', path: '/Users', bulkId: 'h', data: huge }]), 413);
    expect(await count('userName eq "huge@example.com"')).toBe(0);
  });

  it('refuses a body that is not a BulkRequest', async () => {
    expectScimError(await scim.post('/Bulk', { Operations: [] }), 400, 'invalidSyntax');
    expectScimError(await bulk([{ method: 'GET', path: '/Users' }]), 400, 'invalidSyntax');
  });
});
