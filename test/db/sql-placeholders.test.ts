import { numbered } from '../../src/orm/sql';

describe("Roster's placeholders as PostgreSQL's", () => {
  it('numbers each ? in order', () => {
    expect(numbered('select * from users where organization_id = ? and id = any(?::uuid[]) limit ?')).toEqual({
      text: 'select * from users where organization_id = $1 and id = any($2::uuid[]) limit $3',
      bindings: 3,
    });
    expect(numbered('select 1')).toEqual({ text: 'select 1', bindings: 0 });
  });

  it('leaves a ? inside a string, a quoted identifier or a comment as it is', () => {
    expect(numbered(`select '?', 'it''s ?', "a?b", ? -- why? it's 'text'\n, ?`)).toEqual({
      text: `select '?', 'it''s ?', "a?b", $1 -- why? it's 'text'\n, $2`,
      bindings: 2,
    });
  });

  it('refuses what Roster never writes: ??, \\? and an unterminated quote', () => {
    expect(() => numbered('select ?? from users')).toThrow();
    expect(() => numbered('select data \\? ?')).toThrow();
    expect(() => numbered("select 'open")).toThrow();
  });
});
