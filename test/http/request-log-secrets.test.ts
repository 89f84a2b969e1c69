import request from 'supertest';
import { startTestRoster, type TestRoster } from '../support/roster';
import { patchOp, scimClient, userBody, type ScimClient } from '../support/scim';

const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';

/** Every row of every table of the database as text: what a dump of it would hold. */
async function dump(t: TestRoster): Promise<string> {
  const pool = t.roster.database.pool;
  const tables = (await pool.query(`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`)).rows as {
    table_name: string;
  }[];
  let text = '';
  for (const { table_name: table } of tables) {
    const rows = (await pool.query(`select t::text as row from "${table}" t`)).rows as { row: string }[];
    text += rows.map((r) => r.row).join('\n');
  }
  return text;
}

describe('the request log keeps no secret', () => {
  let t: TestRoster;
  let scim: ScimClient;
  beforeAll(async () => {
    t = await startTestRoster();
    scim = scimClient(t.app, t.token);
  });
  afterAll(() => t.close());

  it('after a run that sends passwords and tokens every way, a dump of the database holds none of them', async () => {
    const passwords = ['Correct-Horse-Battery-9-Staple', 'Tr0ub4dor-and-3-more', 'Patched-Pa55word-Value', 'Bulk-Secret-Pa55-0001', 'Not-Json-Pa55-word-7'];
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJva3RhIn0.c2lnbmF0dXJlLW9mLXRoZS1qd3Q';
    const stray = `roster_${'Zq9'.repeat(15)}`;
    const highEntropy = 'AKIAx7Qm2Lp9Vw4Rt8Yz3Kd6Hs1Nf5Bj0Gc';
    const created = await scim.post('/Users', userBody('secrets.one@example.com', { password: passwords[0], title: jwt })).expect(201);
    const id = created.body.id as string;
    await scim.put(`/Users/${id}`, userBody('secrets.one@example.com', { password: passwords[1] })).expect(200);
    await scim.patch(`/Users/${id}`, patchOp({ op: 'replace', path: 'password', value: passwords[2] })).expect(204);
    await scim.patch(`/Users/${id}`, patchOp({ op: 'replace', value: { Password: passwords[2] } })).expect(204);
    // Refused, so stored nowhere but in the log: a token-shaped value where an id belongs.
    const refused = await scim.patch(`/Users/${id}`, patchOp({ op: 'replace', path: 'timezone', value: jwt })).expect(400);
    expect(refused.body.detail).toContain(jwt); // the client is told what it sent; the log keeps it redacted
    await scim.get(`/Users?filter=${encodeURIComponent(`userName eq "${stray}"`)}`).expect(200);
    await scim
      .post('/Bulk', {
        schemas: [BULK],
        Operations: [{ method: 'PATCH', path: `/Users/${id}`, data: patchOp({ op: 'replace', path: 'password', value: passwords[3] }) }],
      })
      .expect(200);
    await scim.get(`/Users?filter=${encodeURIComponent(`externalId eq "${highEntropy}"`)}`).expect(200);
    await request(t.app)
      .post('/scim/v2/Users')
      .set('Authorization', `Bearer ${t.token}`)
      .set('Content-Type', 'application/scim+json')
      .send(`{"userName": "broken@example.com", "password": "${passwords[4]}", `)
      .expect(400);
    await request(t.app).get('/scim/v2/Users').set('Authorization', `Bearer ${stray}`).expect(401);

    await t.roster.requestLog.writer?.flush();
    const everything = await dump(t);
    const paths = (await t.roster.database.pool.query(`select path from request_log where path like '/scim/v2/Users/%'`)).rows as { path: string }[];
    // Ids in paths are not token-shaped: they stay.
    expect(paths.map((r) => r.path)).toContain(`/scim/v2/Users/${id}`);
    // The run was logged, bodies and all:
    expect(everything).toContain('secrets.one@example.com');
    expect(everything).toContain('broken@example.com');
    for (const secret of [...passwords, jwt, stray, highEntropy, t.token]) expect(everything).not.toContain(secret);
    expect(everything).not.toMatch(/Bearer [^[]/);
  });
});

describe('ROSTER_REQUEST_LOG=false', () => {
  let t: TestRoster;
  beforeAll(async () => {
    t = await startTestRoster({ requestLog: false });
  });
  afterAll(() => t.close());

  it('records nothing, and the requests work as before', async () => {
    expect(t.roster.requestLog.writer).toBeUndefined();
    await scimClient(t.app, t.token).post('/Users', userBody('unlogged@example.com')).expect(201);
    await scimClient(t.app, t.token).get('/Users?count=1').expect(200);
    const { rows } = await t.roster.database.pool.query(
      'select (select count(*) from request_log)::int + (select count(*) from request_read_batches)::int as n',
    );
    expect(rows[0].n).toBe(0);
  });
});
