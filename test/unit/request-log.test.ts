import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { refusalRule } from '../../src/domain/request-log';
import { USER_CHANGE_RULES } from '../../src/domain/policy';
import { clientOf } from '../../src/requestlog/client';
import { parseRequestLogQuery, RequestLogQueryError } from '../../src/requestlog/query';
import { BODY_CAP_BYTES, REDACTED, capped, redactText, storedBody } from '../../src/requestlog/redact';
import { stored, type RawEntry } from '../../src/requestlog/entry';
import { RequestLogWriter } from '../../src/requestlog/writer';

const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** What a stored body may weigh at most: the cap (the truncation marker is inside it). */
const fitsCap = (text: string | null) => text === null || Buffer.byteLength(text, 'utf8') <= BODY_CAP_BYTES + 16;

describe('the rule behind a refusal', () => {
  it('every code the user rules refuse with is named by its rule, with the rule in words', () => {
    const source = fs.readFileSync(path.resolve(__dirname, '../../src/domain/policy-user-rules.ts'), 'utf8');
    const checks = source.slice(source.indexOf('// The rules, in the order of the table'));
    const literal = [...checks.matchAll(/'(user\.[a-z_]+)'/g)].map((m) => m[1]);
    const templated =
      [...checks.matchAll(/`(user\.\$\{snake\(attribute\)\}_invalid)`/g)].length > 0
        ? ['user.custom_tql_timeout_invalid', 'user.logout_after_minutes_invalid']
        : [];
    expect(literal.length).toBeGreaterThan(15);
    for (const code of [...literal, ...templated]) {
      const rule = refusalRule(code);
      expect({ code, named: rule.rule !== undefined && (rule.says ?? '').length > 20 }).toEqual({ code, named: true });
    }
  });

  it('names rule 10 for every license refusal, rule 13 for a taken userName, and only the code for other refusals', () => {
    expect(refusalRule('license.standard_limit_reached')).toMatchObject({ rule: '10. licenses' });
    expect(refusalRule('license.api_users_not_allowed')).toMatchObject({ rule: '10. licenses' });
    expect(refusalRule('user.user_name_taken')).toMatchObject({ rule: '13. tenancy' });
    expect(refusalRule('group.manage_forbidden')).toMatchObject({ rule: '1. who may manage users' });
    expect(refusalRule('filter.invalid_date')).toEqual({ code: 'filter.invalid_date' });
  });

  it('each rule of the table has its own codes: no code is claimed twice', () => {
    const codes = USER_CHANGE_RULES.flatMap((r) => r.codes);
    expect(new Set(codes).size).toBe(codes.length);
  });
});

describe('the client, from the User-Agent', () => {
  it.each([
    ['Okta SCIM Client 1.0.0', 'okta'],
    ['okta-scim/2.1', 'okta'],
    ['Microsoft.Azure.AD.Provisioning/1.0', 'entra'],
    ['Azure AD SCIM Provisioning', 'entra'],
    ['Microsoft Entra ID', 'entra'],
    ['curl/8.5.0', 'other'],
    [undefined, 'other'],
    ['', 'other'],
    ['Oktoberfest client', 'other'],
  ])('%s is %s', (agent, client) => {
    expect(clientOf(agent)).toBe(client);
  });
});

describe('the request log filters (CLI and console)', () => {
  it('parses what the contract names', () => {
    expect(parseRequestLogQuery({ status: '403' })).toEqual({ status: { min: 403, max: 403 }, limit: 50 });
    expect(parseRequestLogQuery({ status: '4xx', client: 'Okta', limit: '10' })).toEqual({ status: { min: 400, max: 499 }, client: 'okta', limit: 10 });
    expect(parseRequestLogQuery({ status: '5XX' }).status).toEqual({ min: 500, max: 599 });
    expect(parseRequestLogQuery({ since: '2026-01-31' }).since?.toISOString()).toBe('2026-01-31T00:00:00.000Z');
    expect(parseRequestLogQuery({ since: '2026-01-31T08:00:00+02:00' }).since?.toISOString()).toBe('2026-01-31T06:00:00.000Z');
  });

  it.each([
    { status: '600' },
    { status: '4x' },
    { status: '40' },
    { client: 'onelogin' },
    { limit: '1001' },
    { limit: '-1' },
    { limit: '1e3' },
    { since: '2026-13-45' },
    { since: 'now' },
    { since: '1' },
  ])('refuses %j with a message naming the option', (text) => {
    expect(() => parseRequestLogQuery(text)).toThrow(RequestLogQueryError);
  });

  it('fuzz: any text either parses or is refused with a RequestLogQueryError, never anything else', () => {
    fc.assert(
      fc.property(
        fc.record({
          since: fc.option(fc.string(), { nil: undefined }),
          status: fc.option(fc.string(), { nil: undefined }),
          client: fc.option(fc.string(), { nil: undefined }),
          limit: fc.option(fc.string(), { nil: undefined }),
        }),
        (text) => {
          try {
            const query = parseRequestLogQuery(text);
            expect(query.limit).toBeGreaterThanOrEqual(1);
            expect(query.limit).toBeLessThanOrEqual(1000);
            if (query.since) expect(Number.isNaN(query.since.getTime())).toBe(false);
          } catch (error) {
            expect(error).toBeInstanceOf(RequestLogQueryError);
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

describe('redaction', () => {
  it('keeps flags that only mention a password, and ids', () => {
    const text = storedBody({
      value: {
        passwordResetRequired: true,
        id: '5a1db648-527e-4d0d-b5c7-4cdbe20d4bea',
        location: 'https://x.example/scim/v2/Users/5a1db648-527e-4d0d-b5c7-4cdbe20d4bea',
      },
    });
    expect(JSON.parse(text as string)).toEqual({
      passwordResetRequired: true,
      id: '5a1db648-527e-4d0d-b5c7-4cdbe20d4bea',
      location: 'https://x.example/scim/v2/Users/5a1db648-527e-4d0d-b5c7-4cdbe20d4bea',
    });
  });

  it('redacts a password given as any JSON value, at any depth, in any letter case', () => {
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 6 }),
        fc.integer({ min: 0, max: 30 }),
        fc.constantFrom('password', 'PASSWORD', 'Password', 'newPassword'),
        (around, depth, key) => {
          let body: unknown = { [key]: 'Planted-Secret-9x' };
          for (let i = 0; i < depth; i++) body = i % 2 === 0 ? [around, body] : { wrapper: body, around };
          const text = storedBody({ value: body });
          expect(text).not.toContain('Planted-Secret-9x');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('redacts tokens however they come: a value, a key, text that is not JSON, a Bearer header pasted in a body', () => {
    const token = `roster_${'Ab1'.repeat(14)}`;
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
    for (const body of [
      { value: { x: token } },
      { value: { [jwt]: 1 } },
      { text: `not json ${token} and ${jwt}` },
      { text: `Authorization: Bearer ${'Q'.repeat(40)}` },
    ]) {
      const text = storedBody(body) as string;
      expect(text).not.toContain(token);
      expect(text).not.toContain(jwt);
      expect(text).not.toContain('Q'.repeat(40));
      expect(text).toContain(REDACTED);
    }
  });

  it('caps a body at 64 KB and says how long it was', () => {
    const text = capped('é'.repeat(100_000));
    expect(Buffer.byteLength(text, 'utf8')).toBeLessThanOrEqual(BODY_CAP_BYTES);
    expect(text.endsWith('…[truncated: 200000 bytes in all]')).toBe(true);
    const huge = storedBody({ text: 'a'.repeat(5_000_000) }) as string;
    expect(huge.endsWith('…[truncated: 5000000 bytes in all]')).toBe(true);
  });

  it('fuzz: hostile bodies never throw, and what is kept is storable and within the cap', () => {
    // Deep nesting, far past what the SCIM layer takes (built without recursion).
    let deep: unknown = { password: 'Deep-Secret-1' };
    for (let i = 0; i < 100_000; i++) deep = [deep];
    // A huge array, and a huge object.
    const wide = Array.from({ length: 1_000_000 }, (_, i) => ({ i, password: `Wide-${i}` }));
    const manyKeys = Object.fromEntries(Array.from({ length: 200_000 }, (_, i) => [`k${i}`, i]));
    // Bytes that are not UTF-8, decoded as the log decodes them; lone surrogates; NUL.
    const notUtf8 = Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0x00]).toString('utf8');
    for (const body of [
      { value: deep },
      { value: wide },
      { value: manyKeys },
      { text: notUtf8 },
      { text: '\uD800\u0000\uDFFF' },
      { value: { a: '\uD800', '\u0000': 1 } },
    ]) {
      const text = storedBody(body);
      expect(text === null || !UNSTORABLE.test(text)).toBe(true);
      expect(fitsCap(text)).toBe(true);
      expect(text).not.toContain('Deep-Secret-1');
      expect(text).not.toMatch(/Wide-\d/);
    }
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue().map((value) => ({ value })),
          fc.string({ unit: 'binary' }).map((text) => ({ text })),
          fc.uint8Array().map((bytes) => ({ text: Buffer.from(bytes).toString('utf8') })),
        ),
        (body) => {
          const text = storedBody(body);
          expect(text === null || !UNSTORABLE.test(text)).toBe(true);
          expect(fitsCap(text)).toBe(true);
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('fuzz: redacting text never makes it longer than a marker per token, and is stable', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme-ascii', maxLength: 500 }), (text) => {
        const once = redactText(text);
        expect(redactText(once)).toBe(once);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('an entry as stored', () => {
  const raw: RawEntry = {
    time: new Date('2026-12-01T08:00:00Z'),
    organizationId: null,
    credentialId: null,
    requestId: 'r',
    userAgent: `Okta SCIM Client ${'x'.repeat(1000)}`,
    method: 'GET',
    path: `/scim/v2/Users/${'%00'.repeat(2000)}`,
    filter: `userName eq "\u0000${'y'.repeat(10_000)}"`,
    status: 401,
    scimType: null,
    detail: 'a valid bearer token is required',
    errorCode: 'auth.token_missing',
    durationMs: 0.123456,
    resourceIds: [],
    changes: [
      { resourceType: 'User', resourceId: 'u', action: 'updated', changes: [{ attribute: 'title', before: 'a', after: `roster_${'Zz9'.repeat(12)}` }] },
    ],
    requestBody: {},
    responseBody: {},
    responseCap: 4096,
  };

  it('has its text fields bounded and storable, its client told, its changed values redacted', () => {
    const entry = stored(raw);
    expect(entry.client).toBe('okta');
    expect(entry.userAgent?.length).toBeLessThanOrEqual(257);
    expect(entry.path.length).toBeLessThanOrEqual(2_049);
    expect(entry.filter?.length).toBeLessThanOrEqual(4_097);
    expect(UNSTORABLE.test(entry.filter as string)).toBe(false);
    expect(entry.durationMs).toBe(0.1);
    expect(JSON.stringify(entry.changes)).not.toContain('roster_Zz9');
    expect(entry.requestBody).toBeNull();
  });
});

describe('the writer and the event loop', () => {
  it('lets requests run while it makes a large batch ready: a callback queued as the flush starts runs before the batch is stored', async () => {
    const order: string[] = [];
    const store = {
      insert: async (entries: readonly unknown[]) => {
        order.push(`stored ${entries.length}`);
      },
      prune: async () => 0,
      pruneBeyond: async () => 0,
    };
    const writer = new RequestLogWriter({ store, retentionDays: 14, maxRows: 1_000, flushEveryMs: 60_000 });
    const entry = (i: number): RawEntry => ({
      time: new Date(),
      organizationId: null,
      credentialId: null,
      requestId: `r${i}`,
      userAgent: 'Okta SCIM Client 1.0.0',
      method: 'POST',
      path: '/scim/v2/Users',
      filter: null,
      status: 201,
      scimType: null,
      detail: null,
      errorCode: null,
      durationMs: 1,
      resourceIds: [],
      changes: [],
      requestBody: { value: { userName: `u${i}@example.com`, password: 'Secret-1' }, bytes: 60 },
      responseBody: { text: '{"id":"x"}', ours: true },
      responseCap: 4096,
    });
    for (let i = 0; i < 200; i++) writer.record(entry(i));
    const flushed = writer.flush();
    // What a request arriving now would get: a turn of the event loop, before the batch's 200 entries are all made ready.
    setImmediate(() => order.push('a request'));
    await flushed;
    expect(order).toEqual(['a request', 'stored 200']);
  });
});
