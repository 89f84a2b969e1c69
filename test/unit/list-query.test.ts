import fc from 'fast-check';
import { listQueryFrom, listRequestFrom, MAX_INDEX } from '../../src/scim/list/list-query';
import { ScimError } from '../../src/scim/http/errors';
import { searchParams } from '../../src/scim/list/search';

const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';

const refused = (run: () => unknown): ScimError => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ScimError);
    return error as ScimError;
  }
  throw new Error('expected a refusal');
};

describe('listQueryFrom: startIndex and count', () => {
  it.each([
    [{}, 1, 100],
    [{ startIndex: '3000000000' }, 3000000000, 100],
    [{ startIndex: '99999999999999999999999' }, MAX_INDEX, 100],
    [{ startIndex: '-99999999999999999999999' }, 1, 100],
    [{ startIndex: ' 0007 ', count: '+5' }, 7, 5],
    [{ startIndex: '', count: ' ' }, 1, 100],
    [{ count: '3000000000' }, 1, 1000],
    [{ count: '-99999999999999999999' }, 1, 0],
    [{ startIndex: '9007199254740993' }, MAX_INDEX, 100],
  ])('%j → startIndex %d, count %d', (params, startIndex, count) => {
    expect(listQueryFrom(params)).toMatchObject({ startIndex, count });
  });

  it.each(['1e3', '0x10', '1.0', '1 2', 'ten', '--1', 'Infinity', 'NaN'])('refuses %j with 400 invalidValue', (text) => {
    expect(refused(() => listQueryFrom({ startIndex: text })).scimType).toBe('invalidValue');
    expect(refused(() => listQueryFrom({ count: text })).scimType).toBe('invalidValue');
  });

  it('reads any decimal integer as itself, clamped, and refuses anything else (generated)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.bigInt().map(String), fc.string()), (text) => {
        const decimal = /^\s*[+-]?\d+\s*$/.test(text);
        if (!decimal && text.trim() !== '') {
          expect(refused(() => listQueryFrom({ startIndex: text })).scimType).toBe('invalidValue');
          return;
        }
        const value = text.trim() === '' ? 1n : BigInt(text.trim());
        const expected = value < 1n ? 1 : value > BigInt(MAX_INDEX) ? MAX_INDEX : Number(value);
        expect(listQueryFrom({ startIndex: text }).startIndex).toBe(expected);
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses a forged cursor before any query is built', () => {
    expect(refused(() => listRequestFrom({ cursor: Buffer.from('{"v":1}').toString('base64url') })).scimType).toBe('invalidCursor');
  });
});

describe('searchParams: numbers of a SearchRequest', () => {
  it.each([
    [3000000000, 3000000000],
    [1e21, MAX_INDEX],
    [1e308, MAX_INDEX],
    [-1e308, 1],
    [-0, 1],
  ])('startIndex %d → %d', (startIndex, expected) => {
    expect(listQueryFrom(searchParams({ schemas: [SEARCH], startIndex })).startIndex).toBe(expected);
  });

  it.each([1.5, Infinity, NaN, '1'])('refuses startIndex %j', (startIndex) => {
    expect(refused(() => searchParams({ schemas: [SEARCH], startIndex })).scimType).toBe('invalidValue');
  });
});
