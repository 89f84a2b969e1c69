import { newId } from '../../src/orm/ids';

/** A UUID version 7 (RFC 9562): the version nibble 7, the variant bits 10. */
const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const timeOf = (id: string) => parseInt(id.replace(/-/g, '').slice(0, 12), 16);

describe('a new resource id', () => {
  it('is a UUID version 7 whose first 48 bits are the time it was made, in milliseconds', () => {
    const at = Date.parse('2026-12-02T10:00:00.123Z');
    const id = newId(at);
    expect(id).toMatch(V7);
    expect(timeOf(id)).toBe(at);
  });

  it('sorts after every id made in an earlier millisecond, as text and as PostgreSQL compares uuids', () => {
    const ids = Array.from({ length: 200 }, (_, i) => newId(1_700_000_000_000 + i * 7));
    expect([...ids].sort()).toEqual(ids);
  });

  it('keeps 74 random bits: 10,000 ids of one millisecond are all different', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => newId(1_700_000_000_000)));
    expect(ids.size).toBe(10_000);
    for (const id of ids) expect(id).toMatch(V7);
  });
});
