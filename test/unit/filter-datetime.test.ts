import fc from 'fast-check';
import { DomainError } from '../../src/domain/errors';
import { dateTimeValue } from '../../src/orm/filter-sql';

/** The invalidFilter error for `value`. */
function refusal(value: string): DomainError {
  try {
    dateTimeValue(value, 'meta.created');
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).kind).toBe('invalid_filter');
    return error as DomainError;
  }
  throw new Error(`expected ${value} to be refused`);
}

describe('dateTimeValue: what a dateTime filter value becomes in SQL', () => {
  it.each([
    ['2026-01-02T03:04:05Z', '2026-01-02T03:04:05Z'],
    ['2026-01-02t03:04:05z', '2026-01-02T03:04:05Z'],
    ['2026-01-02 03:04:05.123456789123Z', '2026-01-02T03:04:05.123456789Z'],
    ['2026-01-02T03:04Z', '2026-01-02T03:04:00Z'],
    ['2026-01-02', '2026-01-02T00:00:00Z'],
    ['2026-01-02T03:04:05', '2026-01-02T03:04:05Z'],
    ['2026-01-02T03:04:05+02:00', '2026-01-02T01:04:05Z'],
    ['2026-01-02T03:04:05-0530', '2026-01-02T08:34:05Z'],
    ['2026-01-01T00:00:00+23:59', '2025-12-31T00:01:00Z'],
    ['9999-12-31T23:59:59-23:59', '10000-01-01T23:58:59Z'],
    ['0001-01-01T00:00:00+14:00', '0001-12-31T10:00:00Z BC'],
    ['2016-12-31T23:59:60Z', '2017-01-01T00:00:00Z'],
    ['2026-12-31T23:59:60.5Z', '2027-01-01T00:00:00.5Z'],
    ['2026-07-01T00:59:60.5+01:00', '2026-07-01T00:00:00.5Z'],
    ['2024-02-29T12:00:00Z', '2024-02-29T12:00:00Z'],
    ['2000-02-29', '2000-02-29T00:00:00Z'],
    [' 2026-01-02T03:04:05Z ', '2026-01-02T03:04:05Z'],
  ])('%s → %s', (value, sql) => {
    expect(dateTimeValue(value, 'meta.created')).toBe(sql);
  });

  it.each([
    '0000-01-01T00:00:00Z',
    '10000-01-01T00:00:00Z',
    '-0001-01-01T00:00:00Z',
    '2026-01-01T00:00:00+99:99',
    '2026-01-01T00:00:00+24:00',
    '2026-01-01T00:00:00+00:60',
    '2026-02-29',
    '1900-02-29',
    '2026-04-31',
    '2026-00-01',
    '2026-13-01',
    '2026-01-00',
    '2026-01-32',
    '2026-01-01T24:00:00Z',
    '2026-01-01T23:60:00Z',
    '2026-01-01T23:59:61Z',
    '2026-1-1',
    'infinity',
    'epoch',
    'now',
    '',
    '2026-01-01T00:00:00 BC',
    '2026-01-01T00:00:00+05',
    '2026-01-01T00:00:00.Z',
  ])('refuses %j', (value) => {
    expect(refusal(value).message).toMatch(/'meta.created' is a dateTime and .* is not a date/);
  });

  it('names the same instant as the value, in UTC, whatever its offset (generated)', () => {
    const instant = fc.date({ min: new Date('0001-01-02T00:00:00Z'), max: new Date('9999-12-30T00:00:00Z'), noInvalidDate: true });
    const offset = fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 });
    fc.assert(
      fc.property(instant, offset, (date, minutes) => {
        const local = new Date(date.getTime() + minutes * 60000).toISOString().slice(0, 23);
        const zone = `${minutes < 0 ? '-' : '+'}${String(Math.floor(Math.abs(minutes) / 60)).padStart(2, '0')}:${String(Math.abs(minutes) % 60).padStart(2, '0')}`;
        const sql = dateTimeValue(`${local}${zone}`, 'meta.created');
        expect(sql).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
        expect(new Date(sql).getTime()).toBe(date.getTime());
      }),
      { numRuns: 1000 },
    );
  });
});
