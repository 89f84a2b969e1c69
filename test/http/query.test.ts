import { startTestRoster, type TestRoster } from '../support/roster';
import { ENTERPRISE, GROUP, ROSTER, USER, expectScimError, scimClient, type ScimClient } from '../support/scim';

const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';

let t: TestRoster;
let scim: ScimClient;
const ids: Record<string, string> = {};
let groupId: string;

const people = [
  { userName: 'carol@q.example', title: 'Analyst', emails: [{ value: 'carol@work.example', type: 'work' }], dept: 'Intel' },
  { userName: 'alice@q.example', title: 'Lead', emails: [{ value: 'alice@home.example', type: 'home' }], dept: 'Intel' },
  { userName: 'bob@q.example', title: 'Analyst', emails: [{ value: 'bob@work.example', type: 'work' }], dept: 'Ops' },
  { userName: 'dave@q.example', title: undefined, emails: [], dept: undefined },
];

beforeAll(async () => {
  t = await startTestRoster();
  scim = scimClient(t.app, t.token);
  for (const p of people) {
    const body = {
      schemas: [USER, ENTERPRISE],
      userName: p.userName,
      ...(p.title ? { title: p.title } : {}),
      emails: p.emails,
      ...(p.dept ? { [ENTERPRISE]: { department: p.dept } } : {}),
    };
    ids[p.userName] = (await scim.post('/Users', body).expect(201)).body.id;
  }
  groupId = (await scim.post('/Groups', { schemas: [GROUP], displayName: 'Query Group', members: [{ value: ids['bob@q.example'] }] }).expect(201)).body.id;
});
afterAll(() => t.close());

const names = (body: { Resources: { userName?: string; displayName?: string }[] }) => body.Resources.map((r) => r.userName ?? r.displayName);
const get = async (query: string) => (await scim.get(`/Users?${query}`).expect(200)).body;
const filtered = (filter: string, extra = '') => get(`filter=${encodeURIComponent(filter)}&sortBy=userName${extra}`);

describe('filters', () => {
  it.each([
    ['emails[type eq "work" and value co "@work"]', ['bob@q.example', 'carol@q.example']],
    ['not (title eq "Analyst" and emails.type eq "work")', ['alice@q.example', 'dave@q.example']],
    ['title pr and (title eq "Lead" or userName sw "BOB")', ['alice@q.example', 'bob@q.example']],
    [`${ENTERPRISE}:department eq "intel"`, ['alice@q.example', 'carol@q.example']],
    ['department eq "Ops"', ['bob@q.example']],
    [`${ROSTER}:systemRole eq "User" and userName ew "@q.example"`, ['alice@q.example', 'bob@q.example', 'carol@q.example', 'dave@q.example']],
    ['meta.created gt "2000-01-01T00:00:00Z" and title eq "lead"', ['alice@q.example']],
    ['emails pr and not (emails.type eq "home")', ['bob@q.example', 'carol@q.example']],
    ['title ne "Analyst"', ['alice@q.example', 'dave@q.example']],
    ['USERNAME EQ "Carol@Q.Example"', ['carol@q.example']],
  ])('%s', async (filter, expected) => {
    expect(names(await filtered(filter))).toEqual(expected);
  });

  it('finds a user by the group it belongs to, and a group by a member', async () => {
    expect(names(await filtered(`groups.value eq "${groupId}"`))).toEqual(['bob@q.example']);
    const groups = (await scim.get(`/Groups?filter=${encodeURIComponent(`members[value eq "${ids['bob@q.example']}"]`)}`).expect(200)).body;
    expect(groups.Resources.map((g: { id: string }) => g.id)).toEqual([groupId]);
  });

  it('refuses what is not a filter with 400 invalidFilter, never a 500', async () => {
    for (const bad of ['title eq', 'a or or b', '(title eq "x"', 'title eq "x" garbage', 'meta.created gt "yesterday"', 'active eq "yes"', "userName eq 'x'"]) {
      expectScimError(await scim.get(`/Users?filter=${encodeURIComponent(bad)}`), 400, 'invalidFilter');
    }
  });
});

describe('sorting and paging', () => {
  it('sorts by userName both ways', async () => {
    const all = ['alice@q.example', 'bob@q.example', 'carol@q.example', 'dave@q.example'];
    expect(names(await get('sortBy=userName'))).toEqual(all);
    expect(names(await get('sortBy=userName&sortOrder=descending'))).toEqual([...all].reverse());
  });

  it('sorts missing values last, with a stable tie-break by id', async () => {
    const body = await get('sortBy=title');
    const analysts = ['carol@q.example', 'bob@q.example'].sort((a, b) => (ids[a] < ids[b] ? -1 : 1));
    expect(names(body)).toEqual([...analysts, 'alice@q.example', 'dave@q.example']);
    expect(names(await get('sortBy=title'))).toEqual(names(body));
  });

  it('refuses sorting by an unknown attribute or order', async () => {
    expectScimError(await scim.get('/Users?sortBy=nosuch'), 400, 'invalidValue');
    expectScimError(await scim.get('/Users?sortBy=userName&sortOrder=sideways'), 400, 'invalidValue');
  });

  it('answers a startIndex past the end with an empty page and the total (RFC 7644 section 3.4.2.4)', async () => {
    for (const order of ['', '&sortBy=userName', '&sortBy=title', `&filter=${encodeURIComponent('userName pr')}`]) {
      const body = await get(`startIndex=5${order}`);
      expect(body).toMatchObject({ totalResults: 4, startIndex: 5, itemsPerPage: 0, Resources: [] });
      expect(await get(`startIndex=3000000000${order}`)).toMatchObject({ totalResults: 4, startIndex: 3000000000, Resources: [] });
    }
  });

  it('treats startIndex below 1 as 1 and a negative count as 0', async () => {
    const body = await get('startIndex=-4&count=2&sortBy=userName');
    expect(body.startIndex).toBe(1);
    expect(names(body)).toEqual(['alice@q.example', 'bob@q.example']);
    expect((await get('count=-3')).Resources).toEqual([]);
  });
});

describe('list pages and single reads agree', () => {
  it('shows each user in every kind of list exactly as GET /Users/{id} shows it', async () => {
    // supertest serves each request on a port of its own: links differ by port only.
    const samePort = (resource: unknown) => JSON.parse(JSON.stringify(resource).replace(/127\.0\.0\.1:\d+/g, 'host'));
    const byId = new Map<string, unknown>();
    for (const id of Object.values(ids)) byId.set(id, samePort((await scim.get(`/Users/${id}`).expect(200)).body));
    const first = await get('count=2');
    const cursorPage = await get('cursor=&count=2');
    const pages = [
      await get('count=100'),
      await get('sortBy=userName&sortOrder=descending&startIndex=2&count=2'),
      await filtered('userName pr'),
      await get(`filter=${encodeURIComponent('groups.value pr')}`),
      first,
      cursorPage,
      await get(`cursor=${encodeURIComponent(cursorPage.nextCursor)}&count=2`),
    ];
    for (const page of pages) {
      expect(page.Resources.length).toBeGreaterThan(0);
      expect(page.itemsPerPage).toBe(page.Resources.length);
      for (const resource of page.Resources) expect(samePort(resource)).toEqual(byId.get(resource.id));
    }
    expect(first).toMatchObject({ totalResults: Object.keys(ids).length, startIndex: 1, itemsPerPage: 2 });
    expect(byId.get(ids['bob@q.example'])).toMatchObject({ groups: [{ value: groupId, display: 'Query Group', type: 'direct' }] });
  });
});

describe('attributes and excludedAttributes', () => {
  it('returns only the attributes asked for, plus id and schemas', async () => {
    const body = await get('attributes=userName,name.givenName&sortBy=userName&count=1');
    expect(Object.keys(body.Resources[0]).sort()).toEqual(['id', 'schemas', 'userName']);
  });

  it('leaves out excluded attributes, including sub-attributes', async () => {
    const user = (await scim.get(`/Users/${ids['bob@q.example']}?excludedAttributes=emails.type,groups,meta`).expect(200)).body;
    expect(user.emails).toEqual([{ value: 'bob@work.example' }]);
    expect(user.groups).toBeUndefined();
    expect(user.meta).toBeUndefined();
    expect(user.userName).toBe('bob@q.example');
  });

  it('returns or leaves out a whole extension block named by its URN', async () => {
    const only = (await scim.get(`/Users/${ids['bob@q.example']}?attributes=${ENTERPRISE}`).expect(200)).body;
    expect(only[ENTERPRISE]).toEqual({ department: 'Ops' });
    const without = (await scim.get(`/Users/${ids['bob@q.example']}?excludedAttributes=${ENTERPRISE}`).expect(200)).body;
    expect(without[ENTERPRISE]).toBeUndefined();
    expect(without.userName).toBe('bob@q.example');
  });

  it('reads an extension attribute by its URN', async () => {
    const user = (await scim.get(`/Users/${ids['bob@q.example']}?attributes=${ENTERPRISE}:department`).expect(200)).body;
    expect(user[ENTERPRISE]).toEqual({ department: 'Ops' });
    expect(user.userName).toBeUndefined();
  });
});

describe('POST .search', () => {
  it('searches Users with a SearchRequest body', async () => {
    const res = await scim
      .post('/Users/.search', { schemas: [SEARCH], filter: 'title eq "Analyst"', sortBy: 'userName', attributes: ['userName'], startIndex: 1, count: 10 })
      .expect(200);
    expect(res.body.totalResults).toBe(2);
    expect(res.body.Resources).toEqual([
      { schemas: expect.any(Array), id: ids['bob@q.example'], userName: 'bob@q.example' },
      { schemas: expect.any(Array), id: ids['carol@q.example'], userName: 'carol@q.example' },
    ]);
  });

  it('searches Groups', async () => {
    const res = await scim.post('/Groups/.search', { schemas: [SEARCH], filter: 'displayName sw "query"', excludedAttributes: ['members'] }).expect(200);
    expect(res.body.Resources).toEqual([expect.objectContaining({ id: groupId, displayName: 'Query Group' })]);
    expect(res.body.Resources[0].members).toBeUndefined();
  });

  it('searches every resource type from the root', async () => {
    const res = await scim.post('/.search', { schemas: [SEARCH], filter: 'displayName eq "Query Group" or userName eq "dave@q.example"' }).expect(200);
    expect(res.body.totalResults).toBe(2);
    expect(res.body.Resources.map((r: { id: string }) => r.id)).toEqual([ids['dave@q.example'], groupId]);
    const paged = await scim
      .post('/.search', { schemas: [SEARCH], filter: 'displayName eq "Query Group" or userName eq "dave@q.example"', startIndex: 2, count: 5 })
      .expect(200);
    expect(paged.body.Resources.map((r: { id: string }) => r.id)).toEqual([groupId]);
  });

  it('refuses cursor paging across resource types', async () => {
    expectScimError(await scim.post('/.search', { schemas: [SEARCH], cursor: '' }), 400, 'invalidValue');
  });

  it('refuses a body that is not a SearchRequest', async () => {
    expectScimError(await scim.post('/Users/.search', { filter: 'title eq "x"' }), 400, 'invalidSyntax');
    expectScimError(await scim.post('/Users/.search', { schemas: [SEARCH], count: 'ten' }), 400, 'invalidValue');
  });
});

describe('cursor paging (RFC 9865)', () => {
  it('is advertised in ServiceProviderConfig', async () => {
    const config = (await scim.get('/ServiceProviderConfig').expect(200)).body;
    expect(config.pagination).toMatchObject({ cursor: true, index: true, maxPageSize: 1000 });
  });

  it('walks every user exactly once, page by page, in creation order', async () => {
    const seen: string[] = [];
    let cursor = '';
    for (let pages = 0; pages < 10; pages++) {
      const body = await get(`cursor=${encodeURIComponent(cursor)}&count=3`);
      expect(body.startIndex).toBeUndefined();
      expect(body.totalResults).toBe(4);
      seen.push(...names(body).map(String));
      if (!body.nextCursor) break;
      cursor = body.nextCursor;
    }
    expect(seen).toEqual(people.map((p) => p.userName));
  });

  it('pages a filtered, sorted list by cursor too', async () => {
    const first = await get(`cursor=&count=1&sortBy=userName&filter=${encodeURIComponent('title eq "Analyst"')}`);
    expect(names(first)).toEqual(['bob@q.example']);
    const second = await get(`cursor=${first.nextCursor}&count=1&sortBy=userName&filter=${encodeURIComponent('title eq "Analyst"')}`);
    expect(names(second)).toEqual(['carol@q.example']);
    expect(second.nextCursor).toBeUndefined();
  });

  it('refuses a cursor that is forged or made for another filter, and startIndex with cursor', async () => {
    const first = await get('cursor=&count=1');
    expectScimError(await scim.get(`/Users?cursor=${first.nextCursor}&count=1&filter=${encodeURIComponent('title pr')}`), 400, 'invalidCursor');
    expectScimError(await scim.get('/Users?cursor=bm9wZQ&count=1'), 400, 'invalidCursor');
    expectScimError(await scim.get('/Users?cursor=&startIndex=2'), 400, 'invalidValue');
  });
});
