import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import request from 'supertest';
import { GROUP_CATALOG, USER_CATALOG } from '../../src/orm/attribute-sql';
import type { AttributeCatalog, ScimType } from '../../src/orm/filter-sql';
import { startTestRoster, type TestRoster } from '../support/roster';
import { ENTERPRISE, GROUP, ROSTER, USER, expectScimError, patchOp, scimClient, userBody, type ScimClient } from '../support/scim';

/**
 * Hostile input an identity provider's token can send (issue #11, items 4-9): every
 * one is a 400 SCIM error (or, for a page past the end, an empty page), never a 500,
 * and a refused request stores nothing. Examples first, then generated cases over
 * every writable attribute, every filterable attribute and every transport.
 */
const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';

let t: TestRoster;
let scim: ScimClient;
let userId: string;
let groupId: string;
const USERS = 3;
const GROUPS = 2;

beforeAll(async () => {
  t = await startTestRoster({ rateLimitPerSecond: 0 });
  scim = scimClient(t.app, t.token);
  const body = (userName: string) =>
    userBody(userName, { schemas: [USER, ENTERPRISE], title: 'Analyst', [ENTERPRISE]: { department: 'Intel', employeeNumber: '7' } });
  userId = (await scim.post('/Users', body('hostile.target@example.com')).expect(201)).body.id;
  await scim.post('/Users', body('hostile.two@example.com')).expect(201);
  await scim.post('/Users', body('hostile.three@example.com')).expect(201);
  groupId = (await scim.post('/Groups', { schemas: [GROUP], displayName: 'Hostile Group', members: [{ value: userId }] }).expect(201)).body.id;
  await scim.post('/Groups', { schemas: [GROUP], displayName: 'Second Group' }).expect(201);
});
afterAll(() => t.close());

/** A request with a body sent exactly as this text or these bytes (superagent would serialise a Buffer as JSON). */
const raw = (method: 'post' | 'put' | 'patch', path: string, body: string | Buffer, contentType = 'application/scim+json') => {
  const agent = request(t.app);
  const send = agent[method].bind(agent);
  return send(`/scim/v2${path}`)
    .set('Authorization', `Bearer ${t.token}`)
    .set('Content-Type', contentType)
    .serialize((data: unknown) => data as string)
    .send(body);
};

const totals = async () => ({
  users: (await scim.get('/Users?count=0').expect(200)).body.totalResults as number,
  groups: (await scim.get('/Groups?count=0').expect(200)).body.totalResults as number,
});

/** The stored user and group (supertest serves each request on a port of its own: links differ by port only). */
const stored = async () => {
  const read = async (path: string) => JSON.parse(JSON.stringify((await scim.get(path).expect(200)).body).replace(/127\.0\.0\.1:\d+/g, 'host'));
  return { user: await read(`/Users/${userId}`), group: await read(`/Groups/${groupId}`) };
};

/** JSON text of `body` with `bytes` in place of the marker, wherever it sits inside its strings. */
const MARK = 'HOSTILE-MARK';
function withBytes(body: unknown, bytes: Buffer): Buffer {
  const [first, ...rest] = JSON.stringify(body).split(MARK);
  return Buffer.concat([Buffer.from(first), ...rest.flatMap((part) => [bytes, Buffer.from(part)])]);
}

const encodeQuery = (text: string) => encodeURIComponent(text);

/** A 400 invalidSyntax that says the request is not UTF-8 or not Unicode (not some other syntax error). */
const expectNotUnicode = (res: request.Response) => {
  expectScimError(res, 400, 'invalidSyntax');
  expect(res.body.detail).toMatch(/not valid (UTF-8|Unicode)/);
};
const cursorState = (cursor: string) => JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
const forge = (state: unknown) => Buffer.from(JSON.stringify(state), 'utf8').toString('base64url');

describe('issue #11 item 4: a startIndex past the end is an empty page', () => {
  it.each([
    ['/Users?startIndex=3000000000', USERS],
    ['/Users?startIndex=3000000000&sortBy=userName', USERS],
    ['/Users?startIndex=3000000000&sortBy=meta.created&sortOrder=descending', USERS],
    ['/Users?startIndex=3000000000&sortBy=userName&sortOrder=descending', USERS],
    ['/Users?startIndex=3000000000&sortBy=title', USERS],
    [`/Users?startIndex=3000000000&filter=${encodeQuery('userName pr')}`, USERS],
    [`/Users?startIndex=3000000000&filter=${encodeQuery('userName pr')}&sortBy=userName`, USERS],
    ['/Groups?startIndex=3000000000', GROUPS],
    ['/Groups?startIndex=3000000000&sortBy=displayName', GROUPS],
    [`/Groups?startIndex=3000000000&filter=${encodeQuery('displayName pr')}`, GROUPS],
  ])('GET %s', async (path, total) => {
    const body = (await scim.get(path).expect(200)).body;
    expect(body).toMatchObject({ totalResults: total, startIndex: 3000000000, itemsPerPage: 0, Resources: [] });
  });

  it.each([2147483646, 2147483647, 2147483648, 4294967296])('GET /Users?startIndex=%d in every ranged order', async (startIndex) => {
    for (const order of ['', '&sortBy=userName', '&sortBy=userName&sortOrder=descending', '&sortBy=meta.created&sortOrder=descending']) {
      const body = (await scim.get(`/Users?startIndex=${startIndex}&count=1000${order}`).expect(200)).body;
      expect(body).toMatchObject({ totalResults: USERS, startIndex, itemsPerPage: 0, Resources: [] });
    }
  });

  it('takes a startIndex or count of any length, clamped', async () => {
    const body = (await scim.get('/Users?startIndex=99999999999999999999999&count=99999999999999999999').expect(200)).body;
    expect(body).toMatchObject({ totalResults: USERS, startIndex: Number.MAX_SAFE_INTEGER, itemsPerPage: 0, Resources: [] });
    const all = (await scim.get('/Users?count=3000000000&startIndex=-99999999999999999999').expect(200)).body;
    expect(all).toMatchObject({ totalResults: USERS, startIndex: 1, itemsPerPage: USERS });
    expect((await scim.get('/Users?count=-99999999999999999999').expect(200)).body).toMatchObject({ totalResults: USERS, Resources: [] });
  });

  it.each([
    ['/Users/.search', USERS],
    ['/Groups/.search', GROUPS],
    ['/.search', USERS + GROUPS],
  ])('POST %s', async (path, total) => {
    for (const [startIndex, echoed] of [
      [3000000000, 3000000000],
      [1e21, Number.MAX_SAFE_INTEGER],
    ]) {
      for (const sortBy of [{}, { sortBy: 'meta.created' }]) {
        const body = (await scim.post(path, { schemas: [SEARCH], startIndex, ...sortBy }).expect(200)).body;
        expect(body).toMatchObject({ totalResults: total, startIndex: echoed, itemsPerPage: 0, Resources: [] });
      }
    }
  });
});

describe('issue #11 item 5: a forged cursor is 400 invalidCursor', () => {
  const keyset = async (type: string) => cursorState((await scim.get(`/${type}?cursor=&count=1`).expect(200)).body.nextCursor);
  const byOffset = async (type: string, sortBy: string) =>
    cursorState((await scim.get(`/${type}?cursor=&count=1&sortBy=${sortBy}`).expect(200)).body.nextCursor);

  it.each(['Users', 'Groups'])('on /%s, whatever field is forged', async (type) => {
    const state = await keyset(type);
    expect(state.after).toEqual({ createdAt: expect.any(String), id: expect.any(String) });
    const sortBy = type === 'Users' ? 'userName' : 'displayName';
    const offset = await byOffset(type, sortBy);
    const forged = [
      { ...state, after: { ...state.after, createdAt: 'garbage' } },
      { ...state, after: { ...state.after, createdAt: '0000-01-01 00:00:00+00' } },
      { ...state, after: { ...state.after, createdAt: '2026-02-30 00:00:00+00' } },
      { ...state, after: { ...state.after, createdAt: '2026-01-01 00:00:00+99' } },
      { ...state, after: { ...state.after, id: 'not-a-uuid' } },
      { ...state, after: { ...state.after, id: 42 } },
      { ...state, after: 'x' },
      { ...state, t: 1e20 },
      { ...state, extra: true },
    ];
    for (const cursor of forged) expectScimError(await scim.get(`/${type}?cursor=${forge(cursor)}&count=1`), 400, 'invalidCursor');
    for (const value of [5e9, 1e20, -1, 1.5, '1', null]) {
      const res = await scim.get(`/${type}?cursor=${forge({ ...offset, offset: value })}&count=1&sortBy=${sortBy}`);
      expectScimError(res, 400, 'invalidCursor');
      const untotalled = { ...offset, offset: value };
      delete untotalled.t;
      expectScimError(await scim.get(`/${type}?cursor=${forge(untotalled)}&count=1&sortBy=${sortBy}`), 400, 'invalidCursor');
    }
    for (const cursor of ['%%%', 'a'.repeat(5000), forge('x'), forge([1]), Buffer.from([0xff, 0xfe]).toString('base64url')]) {
      expectScimError(await scim.get(`/${type}?cursor=${encodeQuery(cursor)}&count=1`), 400, 'invalidCursor');
    }
  });

  it('still pages with the cursors it issued', async () => {
    const first = (await scim.get('/Users?cursor=&count=2').expect(200)).body;
    const second = (await scim.get(`/Users?cursor=${first.nextCursor}&count=2`).expect(200)).body;
    expect(first.Resources.length + second.Resources.length).toBe(USERS);
  });
});

describe('issue #11 item 6: filter values PostgreSQL would refuse are 400 invalidFilter', () => {
  it.each([
    ['/Users', 'meta.created gt "0000-01-01T00:00:00Z"'],
    ['/Users', 'meta.created gt "2026-01-01T00:00:00+99:99"'],
    ['/Users', 'meta.lastModified lt "2026-01-01T00:00:00+24:00"'],
    ['/Users', 'meta.created gt "2026-01-01T24:00:00Z"'],
    ['/Groups', 'meta.created gt "0000-01-01T00:00:00Z"'],
    ['/Groups', 'meta.lastModified gt "2026-01-01T00:00:00+99:99"'],
    ['/Users', `${ROSTER}:customTqlTimeout gt 1e400`],
    ['/Users', `${ROSTER}:logoutAfterMinutes lt -1e999`],
  ])('GET %s?filter=%s', async (path, filter) => {
    expectScimError(await scim.get(`${path}?filter=${encodeQuery(filter)}`), 400, 'invalidFilter');
  });

  it.each([
    ['meta.created gt "0001-01-01T00:00:00+14:00"', USERS],
    ['meta.created gt "2000-01-01T00:00:00+23:59"', USERS],
    ['meta.created lt "9999-12-31T23:59:60-23:59"', USERS],
    ['meta.created lt "2000-01-01t00:00:00z"', 0],
    [`${ROSTER}:customTqlTimeout lt 99999999999999999999`, 0],
    [`${ROSTER}:logoutAfterMinutes ne 2147483648`, USERS],
  ])('accepts %s', async (filter, total) => {
    expect((await scim.get(`/Users?filter=${encodeQuery(filter)}`).expect(200)).body.totalResults).toBe(total);
  });
});

describe('issue #11 item 7: a \\u0000 escape in a filter string is 400 invalidFilter', () => {
  const nul = 'userName eq "a\\u0000b"';
  it.each([
    ['GET /Users', () => scim.get(`/Users?filter=${encodeQuery(nul)}`)],
    ['GET /Groups', () => scim.get(`/Groups?filter=${encodeQuery('displayName eq "a\\u0000"')}`)],
    ['GET /Groups by member', () => scim.get(`/Groups?filter=${encodeQuery('members[value eq "\\u0000"]')}`)],
    ['POST /Users/.search', () => scim.post('/Users/.search', { schemas: [SEARCH], filter: nul })],
    ['POST /Groups/.search', () => scim.post('/Groups/.search', { schemas: [SEARCH], filter: 'displayName sw "\\u0000"' })],
    ['POST /.search', () => scim.post('/.search', { schemas: [SEARCH], filter: nul })],
  ])('%s', async (_name, send) => {
    expectScimError(await send(), 400, 'invalidFilter');
  });

  it('in a PATCH path filter, and changes nothing', async () => {
    const before = await stored();
    const removeMember = patchOp({ op: 'remove', path: 'members[value eq "\\u0000"]' });
    const res = await scim.patch(`/Groups/${groupId}`, removeMember);
    expectScimError(res, 400);
    expect(['invalidFilter', 'invalidPath']).toContain(res.body.scimType);
    const userRes = await scim.patch(`/Users/${userId}`, patchOp({ op: 'replace', path: 'emails[value eq "\\u0000"].type', value: 'home' }));
    expectScimError(userRes, 400);
    expect(['invalidFilter', 'invalidPath']).toContain(userRes.body.scimType);
    expect(await stored()).toEqual(before);
  });
});

describe('issue #11 items 8 and 9: text that is not Unicode is 400 and stores nothing', () => {
  it.each([
    ['a lone surrogate in an email (jsonb)', { emails: [{ value: 'x\ud800y@a.com', type: 'work' }] }],
    ['a lone surrogate in the enterprise extension (jsonb)', { schemas: [USER, ENTERPRISE], [ENTERPRISE]: { department: 'x\udc00' } }],
    ['a lone surrogate in userName (text)', { userName: 'x\ud800y@a.com' }],
    ['a lone surrogate in title (text)', { title: 'x\udbffy' }],
    ['a lone surrogate in an attribute name', { ['ti\ud800tle']: 'x' }],
  ])('%s', async (_name, extra) => {
    const before = await totals();
    const text = JSON.stringify(userBody('surrogate@example.com', extra));
    expect(text).toMatch(/\\ud[89a-f]/); // sent as a JSON escape
    expectNotUnicode(await raw('post', '/Users', text));
    expect(await totals()).toEqual(before);
  });

  it.each([
    ['userName (text)', { userName: `utf${MARK}@a.com` }],
    ['title (text)', { title: `t${MARK}` }],
    ['an email (jsonb)', { emails: [{ value: `e${MARK}@a.com`, type: 'work' }] }],
    ['the enterprise extension (jsonb)', { schemas: [USER, ENTERPRISE], [ENTERPRISE]: { department: `d${MARK}` } }],
  ])('invalid UTF-8 bytes in %s', async (_name, extra) => {
    const before = await totals();
    const body = withBytes(userBody('bytes@example.com', extra), Buffer.from([0xff, 0xfe]));
    expect(isUtf8(body)).toBe(false);
    expectNotUnicode(await raw('post', '/Users', body));
    expect(await totals()).toEqual(before);
  });

  it('invalid UTF-8 in a Bulk body or a lone surrogate in one of its operations', async () => {
    const before = await totals();
    const bulk = (userName: string) => ({ schemas: [BULK], Operations: [{ method: 'POST', path: '/Users', bulkId: 'u', data: userBody(userName) }] });
    expectNotUnicode(await raw('post', '/Bulk', withBytes(bulk(`bulk${MARK}@a.com`), Buffer.from([0xc3, 0x28]))));
    expectNotUnicode(await raw('post', '/Bulk', JSON.stringify(bulk('bulk\ud800@a.com'))));
    expect(await totals()).toEqual(before);
  });

  it.each([
    ['%FF', 'userName%20eq%20%22%FF%22'],
    ['an encoded surrogate', 'userName%20eq%20%22%ED%A0%80%22'],
    ['a truncated sequence', 'userName%20eq%20%22%E2%82%22'],
    ['an overlong encoding', 'userName%20eq%20%22%C0%AF%22'],
  ])('a query string with %s is 400 invalidSyntax', async (_name, query) => {
    expectNotUnicode(await scim.get(`/Users?filter=${query}`));
    expectNotUnicode(await scim.get(`/Groups?filter=${query.replace('userName', 'displayName')}`));
  });

  it.each(['%FF', 'x%ED%A0%80', '%C0%AF'])('a resource path segment %s is 400 invalidSyntax', async (segment) => {
    const before = await totals();
    for (const type of ['Users', 'Groups']) {
      expectNotUnicode(await scim.get(`/${type}/${segment}`));
      expectNotUnicode(await scim.delete(`/${type}/${segment}`));
      expectNotUnicode(await scim.put(`/${type}/${segment}`, userBody('path@example.com')));
      expectNotUnicode(await scim.patch(`/${type}/${segment}`, patchOp({ op: 'replace', path: 'title', value: 'x' })));
    }
    expect(await totals()).toEqual(before);
  });

  it('a lone surrogate in a filter: as an escape (invalidFilter) or in a .search body (invalidSyntax)', async () => {
    expectScimError(await scim.get(`/Users?filter=${encodeQuery('userName eq "x\\ud800y"')}`), 400, 'invalidFilter');
    expectScimError(await scim.get(`/Users?filter=${encodeQuery('title eq "\\udc00\\ud800"')}`), 400, 'invalidFilter');
    for (const path of ['/Users/.search', '/Groups/.search', '/.search']) {
      expectNotUnicode(await raw('post', path, JSON.stringify({ schemas: [SEARCH], filter: 'userName eq "x\ud800"' })));
    }
    // A well-formed pair is text like any other.
    expect((await scim.get(`/Users?filter=${encodeQuery('userName eq "\\ud83d\\ude00"')}`).expect(200)).body.totalResults).toBe(0);
  });

  it('refuses a body in another charset than UTF-8 with 415', async () => {
    const before = await totals();
    const body = Buffer.from(JSON.stringify(userBody('utf16@example.com')), 'utf16le');
    expectScimError(await raw('post', '/Users', body, 'application/scim+json; charset=utf-16le'), 415);
    expect(await totals()).toEqual(before);
  });
});

// ---- generated cases ------------------------------------------------------------

/** Text that is not Unicode, and bytes that are not UTF-8. */
const loneSurrogate = fc.oneof(
  fc.integer({ min: 0xd800, max: 0xdbff }).map((c) => String.fromCharCode(c)),
  fc.integer({ min: 0xdc00, max: 0xdfff }).map((c) => String.fromCharCode(c)),
  fc.tuple(fc.integer({ min: 0xdc00, max: 0xdfff }), fc.integer({ min: 0xd800, max: 0xdbff })).map(([a, b]) => String.fromCharCode(a, b)),
);
const notUtf8 = fc
  .oneof(
    fc.constantFrom(
      [0xff],
      [0xfe, 0xff],
      [0xc0, 0xaf],
      [0xe0, 0x80, 0xaf],
      [0xed, 0xa0, 0x80],
      [0xed, 0xbf, 0xbf],
      [0xe2, 0x82],
      [0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xf8, 0x88, 0x80, 0x80, 0x80],
    ),
    fc.array(fc.integer({ min: 0x80, max: 0xff }), { minLength: 1, maxLength: 5 }).filter((bytes) => !isUtf8(Buffer.from(bytes))),
  )
  .map((bytes) => Buffer.from(bytes));
const text = fc.string({ maxLength: 6 }).filter((s) => !s.includes(MARK));

type Path = (string | number)[];
/** Every place a client can write a string in a User: core, multi-valued, extensions, and a key. */
const USER_STRINGS: Path[] = [
  ['userName'],
  ['externalId'],
  ['displayName'],
  ['nickName'],
  ['profileUrl'],
  ['title'],
  ['userType'],
  ['preferredLanguage'],
  ['locale'],
  ['timezone'],
  ['password'],
  ['schemas', 0],
  ...['formatted', 'familyName', 'givenName', 'middleName', 'honorificPrefix', 'honorificSuffix'].map((s) => ['name', s]),
  ...['emails', 'phoneNumbers', 'ims', 'photos', 'entitlements', 'roles', 'x509Certificates'].flatMap((a) => [
    [a, 0, 'value'],
    [a, 0, 'type'],
    [a, 0, 'display'],
  ]),
  ...['formatted', 'streetAddress', 'locality', 'region', 'postalCode', 'country', 'type'].map((s) => ['addresses', 0, s]),
  ...['employeeNumber', 'costCenter', 'organization', 'division', 'department'].map((s) => [ENTERPRISE, s]),
  [ENTERPRISE, 'manager', 'value'],
  ...['systemRole', 'organizationRole', 'summaryEmailTime'].map((s) => [ROSTER, s]),
  ['$key'],
];
const GROUP_STRINGS: Path[] = [['displayName'], ['externalId'], ['members', 0, 'value'], ['members', 0, 'display'], ['schemas', 0], ['$key']];

/** `base` with `value` written at `path` (`$key`: as the name of an attribute). */
function place(base: Record<string, unknown>, path: Path, value: string): Record<string, unknown> {
  const body = structuredClone(base);
  if (path[0] === '$key') return { ...body, [`x${value}`]: 'v' };
  let node = body as Record<string | number, unknown>;
  for (const [i, key] of path.entries()) {
    if (i === path.length - 1) node[key] = value;
    else node = (node[key] ??= typeof path[i + 1] === 'number' ? [] : {}) as Record<string | number, unknown>;
  }
  return body;
}

const dottedPath = (path: Path) => {
  const names = path.filter((p) => typeof p === 'string') as string[];
  return names[0].startsWith('urn:') ? `${names[0]}:${names.slice(1).join('.')}` : names.join('.');
};

describe('generated: a string that is not Unicode anywhere in any body', () => {
  const userBase = () => ({ ...userBody('generated.hostile@example.com'), schemas: [USER, ENTERPRISE, ROSTER] });
  const groupBase = () => ({ schemas: [GROUP], displayName: 'Generated Hostile', members: [{ value: userId }] });
  type Send = (body: string | Buffer) => Promise<request.Response>;
  const asBody = (body: Record<string, unknown>, bad: { surrogate: string } | { bytes: Buffer }) =>
    'surrogate' in bad
      ? JSON.stringify(body).replaceAll(
          MARK,
          bad.surrogate.replace(/[\ud800-\udfff]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`),
        )
      : withBytes(body, bad.bytes);

  /** Each way a body reaches the server, with the body holding MARK at `path`. */
  const transports = (kind: 'user' | 'group', path: Path, filler: string): [string, Record<string, unknown>, Send][] => {
    const type = kind === 'user' ? 'Users' : 'Groups';
    const id = kind === 'user' ? userId : groupId;
    const base = kind === 'user' ? userBase() : groupBase();
    const resource = place(base, path, `${filler}${MARK}`);
    const patchValue = path[0] === '$key' || path[0] === 'schemas' ? resource : undefined;
    return [
      [`POST /${type}`, resource, (b) => raw('post', `/${type}`, b)],
      [`PUT /${type}/{id}`, resource, (b) => raw('put', `/${type}/${id}`, b)],
      [
        `PATCH /${type}/{id}`,
        patchValue ? patchOp({ op: 'replace', value: patchValue }) : patchOp({ op: 'replace', path: dottedPath(path), value: `${filler}${MARK}` }),
        (b) => raw('patch', `/${type}/${id}`, b),
      ],
      [`POST /Bulk`, { schemas: [BULK], Operations: [{ method: 'POST', path: `/${type}`, bulkId: 'b', data: resource }] }, (b) => raw('post', '/Bulk', b)],
      [
        `POST /Bulk (PATCH)`,
        {
          schemas: [BULK],
          Operations: [{ method: 'PATCH', path: `/${type}/${id}`, data: patchOp({ op: 'add', path: 'externalId', value: `${filler}${MARK}` }) }],
        },
        (b) => raw('post', '/Bulk', b),
      ],
    ];
  };

  it('is 400 invalidSyntax on every writable attribute and every write, and stores nothing', async () => {
    const before = await totals();
    const snapshot = await stored();
    const position = fc.oneof(
      fc.constantFrom(...USER_STRINGS).map((path) => ['user', path] as const),
      fc.constantFrom(...GROUP_STRINGS).map((path) => ['group', path] as const),
    );
    const bad = fc.oneof(
      loneSurrogate.map((surrogate) => ({ surrogate })),
      notUtf8.map((bytes) => ({ bytes })),
    );
    await fc.assert(
      fc.asyncProperty(position, bad, text, fc.nat(4), async ([kind, path], badText, filler, which) => {
        const [name, body, send] = transports(kind, path, filler)[which];
        const res = await send(asBody(body, badText));
        expect({ name, path, status: res.status, scimType: res.body.scimType, detail: res.body.detail }).toEqual({
          name,
          path,
          status: 400,
          scimType: 'invalidSyntax',
          detail: expect.stringMatching(/not valid (UTF-8|Unicode)/),
        });
      }),
      { numRuns: 250 },
    );
    expect(await totals()).toEqual(before);
    expect(await stored()).toEqual(snapshot);
  });
});

/** Every filterable attribute of a catalog as written in a filter, with its type. */
function filterable(catalog: AttributeCatalog): { path: string; type: ScimType; element?: [string, string] }[] {
  const out: { path: string; type: ScimType; element?: [string, string] }[] = [];
  for (const [schema, attributes] of Object.entries(catalog.schemas)) {
    const prefix = schema === catalog.coreSchema ? '' : `${schema}:`;
    for (const [name, spec] of Object.entries(attributes)) {
      if (spec.kind === 'scalar') out.push({ path: `${prefix}${name}`, type: spec.type });
      else {
        for (const [sub, field] of Object.entries(spec.subAttributes)) {
          out.push({ path: `${prefix}${name}.${sub}`, type: field.type });
          if (spec.kind !== 'complex') out.push({ path: `${prefix}${name}`, type: field.type, element: [name, sub] });
        }
      }
    }
  }
  return out;
}

const USER_FILTERABLE = filterable(USER_CATALOG);
const GROUP_FILTERABLE = filterable(GROUP_CATALOG);

const OPERATORS = ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'];
const invalidDates = fc.constantFrom(
  '0000-01-01T00:00:00Z',
  '2026-01-01T00:00:00+99:99',
  '2026-01-01T00:00:00+24:00',
  '2026-01-01T00:00:00-00:60',
  '10000-01-01T00:00:00Z',
  '2026-02-29T00:00:00Z',
  '1900-02-29',
  '2026-04-31',
  '2026-01-01T24:00:00Z',
  '2026-01-01T23:60:00Z',
  '2026-01-01T23:59:61Z',
  '-0001-01-01T00:00:00Z',
  '2026-1-1',
  '2026-00-10',
  '2026-13-01T00:00:00Z',
  'infinity',
  '-infinity',
  'epoch',
  'now',
  'today',
  'allballs',
  '2026-01-01T00:00:00 BC',
);
/** A value PostgreSQL cannot take, as it appears in a filter, and whether it is refused whatever the attribute. */
const hostileValue: fc.Arbitrary<{ literal: string; always: boolean; date?: boolean }> = fc.oneof(
  fc.tuple(text, text).map(([a, b]) => ({ literal: JSON.stringify(`${a}\u0000${b}`), always: true })),
  fc.tuple(text, loneSurrogate, text).map(([a, s, b]) => ({
    literal: JSON.stringify(`${a}${s}${b}`), // JSON.stringify escapes a lone surrogate: "\ud800"
    always: true,
  })),
  invalidDates.map((d) => ({ literal: JSON.stringify(d), always: false, date: true })),
  fc.constantFrom('1e400', '-1e400', '1e999999', '99999999999999999999', '2147483648', '-9223372036854775809', '1e-400', '0.1', '-0').map((n) => ({
    literal: n,
    always: n.includes('e4') || n.includes('e9'),
  })),
);
const shape = fc.constantFrom(
  (c: string) => c,
  (c: string) => `not (${c})`,
  (c: string) => `userName pr and (${c})`,
  (c: string) => `(${c}) or displayName pr`,
  (c: string) => `not (not (${c}) and id pr)`,
);

describe('generated: hostile values in every comparison of every filterable attribute', () => {
  const transport = fc.constantFrom('GET /Users', 'GET /Groups', 'POST /Users/.search', 'POST /Groups/.search', 'POST /.search');

  it('are 400 invalidFilter when PostgreSQL could not take them, and never a 500', async () => {
    await fc.assert(
      fc.asyncProperty(transport, fc.nat(), fc.constantFrom(...OPERATORS), hostileValue, shape, async (via, pick, op, value, wrap) => {
        const groups = via.includes('Groups');
        const attributes = groups ? GROUP_FILTERABLE : via === 'POST /.search' ? [...USER_FILTERABLE, ...GROUP_FILTERABLE] : USER_FILTERABLE;
        const attribute = attributes[pick % attributes.length];
        const comparison = attribute.element
          ? `${attribute.element[0]}[${attribute.element[1]} ${op} ${value.literal}]`
          : `${attribute.path} ${op} ${value.literal}`;
        const filter = wrap(comparison);
        const res = via.startsWith('GET')
          ? await scim.get(`/${groups ? 'Groups' : 'Users'}?filter=${encodeQuery(filter)}`)
          : await scim.post(via.slice(5), { schemas: [SEARCH], filter });
        const context = { via, filter, status: res.status, scimType: res.body.scimType };
        const refused = value.always || (value.date === true && attribute.type === 'dateTime');
        if (refused) expect(context).toEqual({ via, filter, status: 400, scimType: 'invalidFilter' });
        else if (res.status !== 200) expect(context).toEqual({ via, filter, status: 400, scimType: 'invalidFilter' });
      }),
      { numRuns: 400 },
    );
  });

  /** A generated date, and whether RFC 3339 and PostgreSQL agree it is one. */
  const dateParts = fc.record({
    year: fc.oneof(fc.integer({ min: 0, max: 10000 }), fc.constantFrom(0, 1, 9999, 10000)),
    month: fc.integer({ min: 0, max: 13 }),
    day: fc.integer({ min: 0, max: 32 }),
    hour: fc.integer({ min: 0, max: 25 }),
    minute: fc.integer({ min: 0, max: 61 }),
    second: fc.integer({ min: 0, max: 62 }),
    fraction: fc.option(fc.stringMatching(/^[0-9]{1,12}$/), { nil: undefined }),
    offset: fc.option(fc.record({ sign: fc.constantFrom('+', '-'), hours: fc.integer({ min: 0, max: 25 }), minutes: fc.integer({ min: 0, max: 61 }) })),
  });
  const pad = (n: number, width = 2) => String(n).padStart(width, '0');

  it('take a generated date exactly when it is a real one (dates from year 1 to 9999, offsets to ±23:59)', async () => {
    await fc.assert(
      fc.asyncProperty(dateParts, fc.constantFrom('meta.created', 'meta.lastModified'), fc.constantFrom('Users', 'Groups'), async (d, attribute, type) => {
        const zone = d.offset ? `${d.offset.sign}${pad(d.offset.hours)}:${pad(d.offset.minutes)}` : 'Z';
        const fraction = d.fraction === undefined ? '' : `.${d.fraction}`;
        const value = `${pad(d.year, 4)}-${pad(d.month)}-${pad(d.day)}T${pad(d.hour)}:${pad(d.minute)}:${pad(d.second)}${fraction}${zone}`;
        const leap = d.year % 4 === 0 && (d.year % 100 !== 0 || d.year % 400 === 0);
        const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][d.month - 1] ?? 0;
        const valid =
          d.year >= 1 &&
          d.year <= 9999 &&
          d.day >= 1 &&
          d.day <= days &&
          d.hour <= 23 &&
          d.minute <= 59 &&
          d.second <= 60 &&
          (!d.offset || (d.offset.hours <= 23 && d.offset.minutes <= 59));
        const res = await scim.get(`/${type}?filter=${encodeQuery(`${attribute} ge "${value}"`)}`);
        expect({ value, status: res.status, scimType: res.body.scimType }).toEqual(
          valid ? { value, status: 200, scimType: undefined } : { value, status: 400, scimType: 'invalidFilter' },
        );
      }),
      { numRuns: 200 },
    );
  });

  it('compare a dateTime written with any offset as the same instant', async () => {
    const created = new Date((await scim.get(`/Users/${userId}`).expect(200)).body.meta.created);
    const second = Math.floor(created.getTime() / 1000) * 1000;
    const offset = fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 });
    await fc.assert(
      fc.asyncProperty(offset, async (minutes) => {
        const write = (ms: number) => {
          const local = new Date(ms + minutes * 60000).toISOString().slice(0, 19);
          const sign = minutes < 0 ? '-' : '+';
          return `${local}${sign}${pad(Math.floor(Math.abs(minutes) / 60))}:${pad(Math.abs(minutes) % 60)}`;
        };
        const filter = `id eq "${userId}" and meta.created ge "${write(second)}" and meta.created lt "${write(second + 1000)}"`;
        expect((await scim.get(`/Users?filter=${encodeQuery(filter)}`).expect(200)).body.totalResults).toBe(1);
      }),
      { numRuns: 40 },
    );
  });
});

describe('generated: cursors', () => {
  it('an arbitrary or forged cursor gives a page or 400 invalidCursor, never a 500', async () => {
    const users = cursorState((await scim.get('/Users?cursor=&count=1').expect(200)).body.nextCursor);
    const sorted = cursorState((await scim.get('/Users?cursor=&count=1&sortBy=userName').expect(200)).body.nextCursor);
    const groups = cursorState((await scim.get('/Groups?cursor=&count=1').expect(200)).body.nextCursor);
    const number = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(5e9, 1e20, 2 ** 31 - 1, 2 ** 31, -1, 0, Number.MAX_SAFE_INTEGER));
    const timestamp = fc.oneof(
      fc.constant(users.after.createdAt as string),
      fc
        .date({ min: new Date(-70000000000000), max: new Date(300000000000000), noInvalidDate: true })
        .map((d) => d.toISOString().replace('T', ' ').replace('Z', '+00')),
      fc.string(),
      fc.constantFrom('0000-01-01 00:00:00+00', '2026-01-01 00:00:00+16', '2026-01-01 24:00:00+00', 'infinity', '2026-01-01 00:00:00.1234567+00'),
    );
    const id = fc.oneof(fc.uuid(), fc.constant(users.after.id as string), fc.string(), fc.constant('00000000-0000-0000-0000-00000000000g'));
    const state = fc.record(
      {
        v: fc.oneof(fc.constant(1), fc.anything()),
        f: fc.oneof(fc.constantFrom(users.f, sorted.f, groups.f), fc.string()),
        after: fc.oneof(
          fc.record({ createdAt: timestamp, id }),
          fc.record({ createdAt: timestamp, id, x: fc.anything() }, { requiredKeys: [] }),
          fc.anything(),
        ),
        offset: fc.oneof(number, fc.anything()),
        t: fc.oneof(number, fc.anything()),
      },
      { requiredKeys: ['v', 'f'] },
    );
    const cursor = fc.oneof(state.map(forge), fc.string({ maxLength: 80 }), fc.base64String({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 40 }));
    await fc.assert(
      fc.asyncProperty(cursor, fc.constantFrom('/Users?count=2', '/Users?count=2&sortBy=userName', '/Groups?count=1'), async (text, list) => {
        const res = await scim.get(`${list}&cursor=${encodeQuery(text)}`);
        if (res.status === 200) expect(res.body.Resources.length).toBeLessThanOrEqual(2);
        else {
          // A NUL is refused in any query parameter before the cursor is read.
          const scimType = text.includes('\u0000') ? 'invalidValue' : 'invalidCursor';
          expect({ status: res.status, scimType: res.body.scimType }).toEqual({ status: 400, scimType });
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('generated: startIndex and count', () => {
  const numeric = fc.oneof(
    fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
    fc.integer().map(String),
    fc.double().map(String),
    fc.constantFrom('0', '-0', '+7', ' 3 ', '007', '2147483647', '2147483648', '3000000000', '9007199254740993', '1e3', '0x10', '1.0', '', ' '),
    fc.string({ maxLength: 8 }),
  );

  /** How the server reads a startIndex or count: a decimal integer of any length, or nothing. */
  const read = (text: string, fallback: number, min: number, max: number): number | 'refused' => {
    if (text.trim() === '') return fallback;
    if (!/^\s*[+-]?\d+\s*$/.test(text)) return 'refused';
    const value = BigInt(text.trim());
    return Number(value < BigInt(min) ? BigInt(min) : value > BigInt(max) ? BigInt(max) : value);
  };

  it('answer 200 with the right page or 400 invalidValue, never a 500', async () => {
    const order = fc.constantFrom(
      '',
      '&sortBy=userName',
      '&sortBy=meta.created&sortOrder=descending',
      '&sortBy=title',
      `&filter=${encodeQuery('userName pr')}`,
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('Users', 'Groups'), numeric, numeric, order, async (type, startText, countText, rest) => {
        const res = await scim.get(`/${type}?startIndex=${encodeQuery(startText)}&count=${encodeQuery(countText)}${type === 'Users' ? rest : ''}`);
        const startIndex = read(startText, 1, 1, Number.MAX_SAFE_INTEGER);
        const count = read(countText, 100, 0, 1000);
        if (startIndex === 'refused' || count === 'refused') {
          expect({ status: res.status, scimType: res.body.scimType }).toEqual({ status: 400, scimType: 'invalidValue' });
          return;
        }
        const total = type === 'Users' ? USERS : GROUPS;
        const shown = Math.max(0, Math.min(count, total - startIndex + 1));
        expect({ status: res.status, totalResults: res.body.totalResults, startIndex: res.body.startIndex, shown: res.body.Resources?.length }).toEqual({
          status: 200,
          totalResults: total,
          startIndex,
          shown,
        });
      }),
      { numRuns: 300 },
    );
  });

  it('in a SearchRequest: any JSON number gives 200 or 400 invalidValue', async () => {
    const number = fc.oneof(
      fc.integer(),
      fc.double(),
      fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(Number),
      fc.constantFrom(1e21, 1e308, -1e308, 3000000000),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/Users/.search', '/Groups/.search', '/.search'), number, number, async (path, startIndex, count) => {
        const body = `{"schemas":["${SEARCH}"],"startIndex":${JSON.stringify(startIndex)},"count":${JSON.stringify(count)}}`;
        const res = await raw('post', path, body);
        if (res.status !== 200) expect({ status: res.status, scimType: res.body.scimType }).toEqual({ status: 400, scimType: 'invalidValue' });
        else expect(res.body.totalResults).toBe(path === '/.search' ? USERS + GROUPS : path.startsWith('/Users') ? USERS : GROUPS);
      }),
      { numRuns: 150 },
    );
  });
});
