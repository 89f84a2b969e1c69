import request from 'supertest';
import { startTestRoster, type TestRoster } from '../support/roster';
import { expectScimError, scimClient } from '../support/scim';

let t: TestRoster;
beforeAll(async () => {
  t = await startTestRoster();
  // Ready before the outage: the migration check has passed and is remembered.
  await request(t.app).get('/readyz').expect(200);
  await t.roster.database.close();
});
// The rest of the roster (the request log's writer and its pool among them) still has to stop;
// closing the database a second time is refused, and that is all that is refused.
afterAll(() => t.close().catch(() => undefined));

describe('when the database does not answer', () => {
  it('still answers /healthz with 200: the process is alive, restarting it would not help', async () => {
    const res = await request(t.app).get('/healthz').expect(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('answers /readyz with 503, naming the database', async () => {
    const res = await request(t.app).get('/readyz').expect(503);
    expect(res.body).toEqual({ status: 'not ready', database: false, migrations: false });
  });

  it('answers SCIM requests with a SCIM 503, never 401 or 404', async () => {
    expectScimError(await scimClient(t.app, t.token).get('/Users/00000000-0000-4000-8000-000000000000'), 503);
  });
});
