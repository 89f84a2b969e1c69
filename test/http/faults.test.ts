import pino from 'pino';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { openDatabase } from '../../src/orm/database';
import { assemble, type Roster } from '../../src/roster';
import { openTestDatabase } from '../support/database';
import { Outage } from '../support/outage';
import { scimClient, userBody, type ScimClient } from '../support/scim';

let database: Awaited<ReturnType<typeof openTestDatabase>>;
let outage: Outage;
let roster: Roster;
let scim: ScimClient;
let token: string;

beforeAll(async () => {
  database = await openTestDatabase();
  const proxied = await Outage.before(database.url);
  outage = proxied.outage;
  roster = assemble({ ...loadConfig({}), rateLimitPerSecond: 0 }, await openDatabase({ url: proxied.url, poolMax: 3 }));
  const org = await roster.organizations.create('faulty');
  token = (await roster.credentials.issue({ organizationId: org.id })).secret;
  scim = scimClient(createApp(roster, pino({ level: 'silent' })), token);
});
afterAll(async () => {
  await outage.up();
  await roster.close();
  await outage.down();
  await database.close();
});

describe('when the database goes away and comes back', () => {
  it('answers 503 SCIM errors quickly while it is away (never 401 or 404), and recovers by itself', async () => {
    const { id } = (await scim.post('/Users', userBody('before.outage@example.com')).expect(201)).body;

    await outage.down();
    const started = Date.now();
    for (const res of [await scim.get(`/Users/${id}`), await scim.get('/Users'), await scim.post('/Users', userBody('during@example.com'))]) {
      expect(res.status).toBe(503);
      expect(res.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
    }
    expect(Date.now() - started).toBeLessThan(20_000);

    await outage.up();
    let recovered = 0;
    for (let attempt = 0; attempt < 40 && recovered === 0; attempt++) {
      if ((await scim.get(`/Users/${id}`)).status === 200) recovered = attempt + 1;
      else await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(recovered).toBeGreaterThan(0);
    await scim.post('/Users', userBody('after.outage@example.com')).expect(201);
    expect((await scim.get('/Users?filter=' + encodeURIComponent('userName eq "during@example.com"'))).body.totalResults).toBe(0);
  }, 60_000);
});
