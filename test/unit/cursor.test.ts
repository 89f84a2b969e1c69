import fc from 'fast-check';
import type { ListQuery } from '../../src/domain/ports';
import { decodeCursor, fingerprint, nextCursor } from '../../src/scim/list/cursor';
import { ScimError } from '../../src/scim/http/errors';

const F = fingerprint({});
const SORTED = fingerprint({ sortBy: 'userName' });
const QUERY: ListQuery = { startIndex: 1, count: 2 };
const KEY = { createdAt: '2026-03-04 05:06:07.123456+00', id: '0b6f3f1e-9a55-4d0c-8a57-2f1d35a1c0de' };

const encode = (state: unknown) => Buffer.from(JSON.stringify(state), 'utf8').toString('base64url');

/** The invalidCursor error decoding `text` throws. */
function refusal(text: string, expected = F): ScimError {
  try {
    decodeCursor(text, expected);
  } catch (error) {
    expect(error).toBeInstanceOf(ScimError);
    expect((error as ScimError).status).toBe(400);
    expect((error as ScimError).scimType).toBe('invalidCursor');
    return error as ScimError;
  }
  throw new Error(`expected ${text} to be refused`);
}

describe('decodeCursor', () => {
  it('reads back the cursors nextCursor issues', () => {
    const keyset = nextCursor({ fingerprint: F, offset: 0 }, QUERY, { total: 9, next: KEY }, 2) as string;
    expect(decodeCursor(keyset, F)).toEqual({ after: KEY, total: 9 });
    const offset = nextCursor(
      { fingerprint: SORTED, offset: 4 },
      { ...QUERY, sortBy: { attribute: { attribute: 'userName' }, descending: false } },
      { total: 9, next: KEY },
      2,
    ) as string;
    expect(decodeCursor(offset, SORTED)).toEqual({ offset: 6, total: 9 });
  });

  it('accepts every timestamp form PostgreSQL writes for a timestamptz', () => {
    for (const createdAt of ['2026-03-04 05:06:07+00', '2026-03-04 05:06:07.1+05:30', '0001-01-01 00:00:00-15:59:59', '9999-12-31 23:59:59.999999+15']) {
      expect(decodeCursor(encode({ v: 1, f: F, after: { ...KEY, createdAt } }), F)).toEqual({ after: { ...KEY, createdAt } });
    }
  });

  it('refuses a cursor for another filter or sort order', () => {
    expect(refusal(encode({ v: 1, f: SORTED, offset: 1 })).detail).toMatch(/another filter or sort order/);
  });

  it.each([
    ['a createdAt that is no timestamp', { after: { ...KEY, createdAt: 'garbage' } }],
    ['year 0', { after: { ...KEY, createdAt: '0000-01-01 00:00:00+00' } }],
    ['a day that does not exist', { after: { ...KEY, createdAt: '2026-02-29 00:00:00+00' } }],
    ['hour 24', { after: { ...KEY, createdAt: '2026-01-01 24:00:00+00' } }],
    ['an offset PostgreSQL refuses', { after: { ...KEY, createdAt: '2026-01-01 00:00:00+16' } }],
    ['seven fraction digits', { after: { ...KEY, createdAt: '2026-01-01 00:00:00.1234567+00' } }],
    ['a BC date', { after: { ...KEY, createdAt: '0044-03-15 00:00:00+00 BC' } }],
    ['infinity', { after: { ...KEY, createdAt: 'infinity' } }],
    ['an id that is no UUID', { after: { ...KEY, id: 'not-a-uuid' } }],
    ['a numeric id', { after: { ...KEY, id: 7 } }],
    ['an extra key in after', { after: { ...KEY, x: 1 } }],
    ['after that is a string', { after: 'x' }],
    ['an offset past any PostgreSQL integer', { offset: 5e9 }],
    ['an offset past bigint', { offset: 1e20 }],
    ['a negative offset', { offset: -1 }],
    ['a fractional offset', { offset: 1.5 }],
    ['an offset as a string', { offset: '1' }],
    ['both after and offset', { after: KEY, offset: 1 }],
    ['neither after nor offset', {}],
    ['a total past any PostgreSQL integer', { offset: 1, t: 1e20 }],
    ['a negative total', { offset: 1, t: -1 }],
    ['an unknown key', { offset: 1, x: 1 }],
  ])('refuses %s', (_name, fields) => {
    refusal(encode({ v: 1, f: F, ...fields }));
  });

  it.each([
    ['not base64url', '%%%'],
    ['standard base64 padding', `${encode({ v: 1, f: F, offset: 1 })}=`],
    ['too long', 'a'.repeat(2000)],
    ['not JSON', Buffer.from('nope').toString('base64url')],
    ['not UTF-8', Buffer.from([0xff, 0xfe]).toString('base64url')],
    ['JSON that is not an object', encode([1])],
    ['null', encode(null)],
    ['another version', encode({ v: 2, f: F, offset: 1 })],
  ])('refuses a cursor that is %s', (_name, text) => {
    expect(refusal(text).detail).toMatch(/not one this server issued/);
  });

  it('answers any string with a position whose every field PostgreSQL can take, or invalidCursor (generated)', () => {
    const anyState = fc.record(
      {
        v: fc.oneof(fc.constant(1), fc.anything()),
        f: fc.oneof(fc.constant(F), fc.string()),
        after: fc.oneof(fc.record({ createdAt: fc.oneof(fc.constant(KEY.createdAt), fc.string()), id: fc.oneof(fc.uuid(), fc.string()) }), fc.anything()),
        offset: fc.oneof(fc.integer(), fc.double(), fc.anything()),
        t: fc.oneof(fc.integer(), fc.double(), fc.anything()),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(anyState.map(encode), fc.string(), fc.base64String()), (text) => {
        let position: ReturnType<typeof decodeCursor>;
        try {
          position = decodeCursor(text, F);
        } catch (error) {
          expect((error as ScimError).scimType).toBe('invalidCursor');
          return;
        }
        const inRange = (n: number | undefined) => n === undefined || (Number.isInteger(n) && n >= 0 && n <= 2 ** 31 - 1);
        expect(inRange(position.offset) && inRange(position.total)).toBe(true);
        expect(position.after === undefined || /^[0-9a-f-]{36}$/i.test(position.after.id)).toBe(true);
        expect((position.after === undefined) !== (position.offset === undefined)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
