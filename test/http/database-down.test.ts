import request from 'supertest';
import { startTestRoster, type TestRoster } from '../support/roster';
import { expectScimError, scimClient } from '../support/scim';

let t: TestRoster;
beforeAll(async () => {
  t = await startTestRoster();
  await t.roster.database.close();
});

describe('when the database does not answer', () => {
  it('answers /healthz with 503', async () => {
    const res = await request(t.app).get('/healthz').expect(503);
    expect(res.body.status).not.toBe('ok');
  });

  it('answers SCIM requests with a SCIM 503, never 401 or 404', async () => {
    expectScimError(await scimClient(t.app, t.token).get('/Users/00000000-0000-4000-8000-000000000000'), 503);
  });
});
