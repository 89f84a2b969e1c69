import fc from 'fast-check';
import { DomainError } from '../../src/domain/errors';
import type { Filter } from '../../src/domain/filter';
import { parseAttributePath, parseFilter } from '../../src/scim/filter/filter-parser';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

const cmp = (attribute: string, op: string, value: unknown, extra: object = {}): Filter =>
  ({ kind: 'compare', path: { attribute, ...extra }, op, value }) as Filter;
const pr = (attribute: string, extra: object = {}): Filter => ({ kind: 'present', path: { attribute, ...extra } });
const and = (left: Filter, right: Filter): Filter => ({ kind: 'and', left, right });
const or = (left: Filter, right: Filter): Filter => ({ kind: 'or', left, right });
const not = (filter: Filter): Filter => ({ kind: 'not', filter });

/** The invalidFilter error thrown by parsing `text`. */
function rejection(text: string, limits?: { maxLength?: number; maxDepth?: number }): DomainError {
  try {
    parseFilter(text, limits);
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    const domainError = error as DomainError;
    expect(domainError.kind).toBe('invalid_filter');
    // Each check has its own code (filter.too_long, filter.operator_unknown, ...).
    expect(domainError.code).toMatch(/^filter\.[a-z_]+$/);
    return domainError;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be rejected`);
}

describe('parseFilter: comparisons', () => {
  it.each(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'])('parses the %s operator', (op) => {
    expect(parseFilter(`userName ${op} "bjensen"`)).toEqual(cmp('userName', op, 'bjensen'));
  });

  it('accepts operators and keywords in any case, and lower-cases the operator', () => {
    expect(parseFilter('userName EQ "a"')).toEqual(cmp('userName', 'eq', 'a'));
    expect(parseFilter('title Pr AND active eQ TRUE')).toEqual(and(pr('title'), cmp('active', 'eq', true)));
    expect(parseFilter('NOT (a Sw "x") OR b pR')).toEqual(or(not(cmp('a', 'sw', 'x')), pr('b')));
    expect(parseFilter('x eq False')).toEqual(cmp('x', 'eq', false));
    expect(parseFilter('x eq NULL')).toEqual(cmp('x', 'eq', null));
  });

  it('keeps the spelling of attribute names', () => {
    expect(parseFilter('USERNAME eq "a"')).toEqual(cmp('USERNAME', 'eq', 'a'));
  });

  it('parses pr', () => {
    expect(parseFilter('title pr')).toEqual(pr('title'));
  });

  it('parses numbers, booleans and null', () => {
    expect(parseFilter('n eq 42')).toEqual(cmp('n', 'eq', 42));
    expect(parseFilter('n gt -1.5')).toEqual(cmp('n', 'gt', -1.5));
    expect(parseFilter('n lt 1e3')).toEqual(cmp('n', 'lt', 1000));
    expect(parseFilter('n le 2.5E-1')).toEqual(cmp('n', 'le', 0.25));
    expect(parseFilter('n eq 0')).toEqual(cmp('n', 'eq', 0));
    expect(parseFilter('active eq true')).toEqual(cmp('active', 'eq', true));
    expect(parseFilter('active eq false')).toEqual(cmp('active', 'eq', false));
    expect(parseFilter('title eq null')).toEqual(cmp('title', 'eq', null));
  });

  it('decodes JSON string escapes', () => {
    expect(parseFilter(String.raw`title eq "say \"hi\""`)).toEqual(cmp('title', 'eq', 'say "hi"'));
    expect(parseFilter(String.raw`title eq "back\\slash"`)).toEqual(cmp('title', 'eq', 'back\\slash'));
    expect(parseFilter(String.raw`title eq "caf\u00e9"`)).toEqual(cmp('title', 'eq', 'café'));
    expect(parseFilter(String.raw`title eq "a\/b\tc\nd"`)).toEqual(cmp('title', 'eq', 'a/b\tc\nd'));
    expect(parseFilter('title eq ""')).toEqual(cmp('title', 'eq', ''));
    expect(parseFilter('title eq "ünï ✓"')).toEqual(cmp('title', 'eq', 'ünï ✓'));
  });

  it('keeps keywords, brackets and parentheses inside strings as text', () => {
    expect(parseFilter('title eq "a) or (b [c] and not"')).toEqual(cmp('title', 'eq', 'a) or (b [c] and not'));
  });

  it('tolerates extra whitespace and none around parentheses and strings', () => {
    expect(parseFilter('  (  a eq "x"  )  ')).toEqual(cmp('a', 'eq', 'x'));
    expect(parseFilter('(a eq "x")and(b eq "y")')).toEqual(and(cmp('a', 'eq', 'x'), cmp('b', 'eq', 'y')));
    expect(parseFilter('a eq "x"\tor\nb pr')).toEqual(or(cmp('a', 'eq', 'x'), pr('b')));
  });
});

describe('parseFilter: attribute paths', () => {
  it('parses sub-attributes', () => {
    expect(parseFilter('name.familyName co "O\'Malley"')).toEqual(cmp('name', 'co', "O'Malley", { subAttribute: 'familyName' }));
    expect(parseFilter('meta.lastModified gt "2011-05-13T04:42:34Z"')).toEqual(cmp('meta', 'gt', '2011-05-13T04:42:34Z', { subAttribute: 'lastModified' }));
  });

  it('parses URN-qualified paths: the schema is everything up to the last colon', () => {
    expect(parseFilter(`${ENTERPRISE}:employeeNumber eq "701984"`)).toEqual(cmp('employeeNumber', 'eq', '701984', { schema: ENTERPRISE }));
    expect(parseFilter(`${ENTERPRISE}:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d"`)).toEqual(
      cmp('manager', 'eq', '26118915-6090-4610-87e4-49d8ca9f808d', { schema: ENTERPRISE, subAttribute: 'value' }),
    );
    expect(parseFilter('urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"')).toEqual(
      cmp('userName', 'sw', 'J', { schema: 'urn:ietf:params:scim:schemas:core:2.0:User' }),
    );
  });

  it('accepts $ref, digits, hyphens and underscores in names', () => {
    expect(parseFilter('members.$ref pr')).toEqual(pr('members', { subAttribute: '$ref' }));
    expect(parseFilter('x-custom_2 eq 1')).toEqual(cmp('x-custom_2', 'eq', 1));
  });

  it('parseAttributePath parses sortBy-style paths', () => {
    expect(parseAttributePath('name.givenName')).toEqual({ attribute: 'name', subAttribute: 'givenName' });
    expect(parseAttributePath(`${ENTERPRISE}:manager.value`)).toEqual({
      schema: ENTERPRISE,
      attribute: 'manager',
      subAttribute: 'value',
    });
    expect(() => parseAttributePath('a.b.c')).toThrow(DomainError);
    expect(() => parseAttributePath('')).toThrow(DomainError);
  });
});

describe('parseFilter: logic and precedence', () => {
  const a = cmp('a', 'eq', 1);
  const b = cmp('b', 'eq', 2);
  const c = cmp('c', 'eq', 3);
  const d = cmp('d', 'eq', 4);

  it('binds and tighter than or', () => {
    expect(parseFilter('a eq 1 or b eq 2 and c eq 3')).toEqual(or(a, and(b, c)));
    expect(parseFilter('a eq 1 and b eq 2 or c eq 3')).toEqual(or(and(a, b), c));
    expect(parseFilter('a eq 1 and b eq 2 or c eq 3 and d eq 4')).toEqual(or(and(a, b), and(c, d)));
  });

  it('associates to the left', () => {
    expect(parseFilter('a eq 1 and b eq 2 and c eq 3')).toEqual(and(and(a, b), c));
    expect(parseFilter('a eq 1 or b eq 2 or c eq 3')).toEqual(or(or(a, b), c));
  });

  it('lets parentheses override precedence', () => {
    expect(parseFilter('(a eq 1 or b eq 2) and c eq 3')).toEqual(and(or(a, b), c));
    expect(parseFilter('a eq 1 and (b eq 2 or c eq 3)')).toEqual(and(a, or(b, c)));
  });

  it('builds not over the whole parenthesised filter', () => {
    expect(parseFilter('not (a eq 1 and b eq 2)')).toEqual(not(and(a, b)));
    expect(parseFilter('not(a eq 1 or b eq 2)')).toEqual(not(or(a, b)));
    expect(parseFilter('not (a eq 1) and b eq 2')).toEqual(and(not(a), b));
    expect(parseFilter('c eq 3 or not (a eq 1 and b eq 2)')).toEqual(or(c, not(and(a, b))));
    expect(parseFilter('not (not (a eq 1))')).toEqual(not(not(a)));
  });

  it('accepts arbitrarily nested parentheses', () => {
    expect(parseFilter('((((a eq 1))))')).toEqual(a);
    expect(parseFilter('((a eq 1 or (b eq 2)) and ((c eq 3) or d eq 4))')).toEqual(and(or(a, b), or(c, d)));
  });

  it('parses the RFC 7644 examples', () => {
    expect(parseFilter('userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")')).toEqual(
      and(cmp('userType', 'eq', 'Employee'), or(cmp('emails', 'co', 'example.com'), cmp('emails', 'co', 'example.org', { subAttribute: 'value' }))),
    );
    expect(parseFilter('userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")')).toEqual(
      and(cmp('userType', 'ne', 'Employee'), not(or(cmp('emails', 'co', 'example.com'), cmp('emails', 'co', 'example.org', { subAttribute: 'value' })))),
    );
    expect(parseFilter('userType eq "Employee" and emails[type eq "work" and value co "@example.com"]')).toEqual(
      and(cmp('userType', 'eq', 'Employee'), {
        kind: 'valuePath',
        path: { attribute: 'emails' },
        filter: and(cmp('type', 'eq', 'work'), cmp('value', 'co', '@example.com')),
      }),
    );
    expect(parseFilter('emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]')).toEqual(
      or(
        { kind: 'valuePath', path: { attribute: 'emails' }, filter: and(cmp('type', 'eq', 'work'), cmp('value', 'co', '@example.com')) },
        { kind: 'valuePath', path: { attribute: 'ims' }, filter: and(cmp('type', 'eq', 'xmpp'), cmp('value', 'co', '@foo.com')) },
      ),
    );
  });
});

describe('parseFilter: value paths', () => {
  it('parses a value path with a full filter inside', () => {
    expect(parseFilter('emails[type eq "work" and (value co "@x" or not (primary eq false))]')).toEqual({
      kind: 'valuePath',
      path: { attribute: 'emails' },
      filter: and(cmp('type', 'eq', 'work'), or(cmp('value', 'co', '@x'), not(cmp('primary', 'eq', false)))),
    });
  });

  it('parses a schema-qualified value path', () => {
    expect(parseFilter('urn:ietf:params:scim:schemas:core:2.0:User:emails[value pr]')).toEqual({
      kind: 'valuePath',
      path: { schema: 'urn:ietf:params:scim:schemas:core:2.0:User', attribute: 'emails' },
      filter: pr('value'),
    });
  });

  it('represents attr[filter].sub op value as the element filter AND the comparison on sub', () => {
    expect(parseFilter('emails[type eq "work"].value eq "x@y"')).toEqual({
      kind: 'valuePath',
      path: { attribute: 'emails' },
      filter: and(cmp('type', 'eq', 'work'), cmp('value', 'eq', 'x@y')),
    });
    expect(parseFilter('emails[type eq "work"].display pr and active eq true')).toEqual(
      and({ kind: 'valuePath', path: { attribute: 'emails' }, filter: and(cmp('type', 'eq', 'work'), pr('display')) }, cmp('active', 'eq', true)),
    );
  });

  it('combines value paths with not and parentheses', () => {
    expect(parseFilter('not (members[value eq "1"]) and (members.value eq "2")')).toEqual(
      and(not({ kind: 'valuePath', path: { attribute: 'members' }, filter: cmp('value', 'eq', '1') }), cmp('members', 'eq', '2', { subAttribute: 'value' })),
    );
  });
});

describe('parseFilter: rejections', () => {
  it.each([
    ['', /empty/],
    ['   ', /empty/],
    ['a eq 1 or or b eq 2', /expected an attribute path.*position 11.*'or'/],
    ['a eq 1 and', /position 11.*end of the filter/],
    ['and a eq 1', /position 1.*'and'/],
    ['(a eq 1', /missing '\)'.*position 1/],
    ['((a eq 1)', /missing '\)'.*position 1\b/],
    ['a eq 1)', /unbalanced '\)' at position 7/],
    ['(a eq 1))', /unbalanced '\)' at position 9/],
    ['()', /expected an attribute path.*position 2/],
    ['emails[type eq "work"', /missing '\]'.*position 7/],
    ['emails[type eq "work")', /expected '\]'.*position 22/],
    ['emails type eq "work"]', /unknown operator 'type'/],
    ['a eq 1]', /unbalanced '\]'/],
    ['userName eq', /missing value after 'eq'.*end of the filter/],
    ['userName eq and b pr', /missing value after 'eq'.*'and'/],
    ['userName eq bjensen', /missing value.*'bjensen'/],
    ['(userName eq)', /missing value.*'\)'/],
    ['userName', /expected an operator after 'userName'/],
    ['userName "x"', /expected an operator after 'userName'.*string/],
    ['userName like "x"', /unknown operator 'like' at position 10/],
    ['userName === "x"', /unexpected character '='/],
    ['userName eq "x" foo', /end of the filter at position 17, found 'foo'/],
    ['userName eq "x" "y"', /found the string "y"/],
    ['userName eq "x" title pr', /found 'title'/],
    ['emails[type[value eq "x"]]', /cannot be nested/],
    ['emails[type eq "work" and phones[value pr]]', /cannot be nested/],
    ['emails[emails.type eq "work"]', /inside \[\.\.\.\]/],
    ['emails[urn:a:b:type eq "work"]', /inside \[\.\.\.\]/],
    ['name.givenName[value pr]', /not a sub-attribute/],
    ['title pr "x"', /'pr' takes no value/],
    ['title pr 5', /'pr' takes no value/],
    ['title pr true', /'pr' takes no value/],
    ['not a eq 1', /expected '\(' after 'not'/],
    ['userName eq "unterminated', /unterminated string/],
    [String.raw`userName eq "bad \q escape"`, /invalid string/],
    [String.raw`userName eq "\u00zz"`, /invalid string/],
    ['n eq 01', /invalid number/],
    ['n eq 1.', /invalid number/],
    ['n eq 5abc', /invalid number/],
    ['a.b.c eq 1', /not an attribute path/],
    ['.value eq 1', /not an attribute path/],
    ['foo:bar eq 1', /not a schema URN/],
    ['emails[type eq "work"].value', /expected an operator/],
    ['emails[type eq "work"].a.b eq 1', /not a sub-attribute name|not an attribute path/],
  ])('rejects %j', (text, message) => {
    expect(rejection(text).message).toMatch(message);
  });

  it('rejects a filter longer than maxLength (default 4096)', () => {
    const long = `title eq "${'x'.repeat(4090)}"`;
    expect(long.length).toBeGreaterThan(4096);
    expect(rejection(long).message).toMatch(/limit is 4096/);
    expect(rejection('title eq "abcdef"', { maxLength: 10 }).message).toMatch(/17 characters.*limit is 10/);
    expect(parseFilter(`title eq "${'x'.repeat(4000)}"`)).toEqual(cmp('title', 'eq', 'x'.repeat(4000)));
  });

  it('rejects nesting deeper than maxDepth (default 32), counting parentheses and brackets', () => {
    const nested = (n: number) => `${'('.repeat(n)}a eq 1${')'.repeat(n)}`;
    expect(parseFilter(nested(32))).toEqual(cmp('a', 'eq', 1));
    expect(rejection(nested(33)).message).toMatch(/deeper than 32/);
    const nots = (n: number) => `${'not ('.repeat(n)}a eq 1${')'.repeat(n)}`;
    expect(() => parseFilter(nots(32))).not.toThrow();
    expect(rejection(nots(33)).message).toMatch(/deeper than 32/);
    expect(() => parseFilter(`${'('.repeat(2)}emails[value pr]))`, { maxDepth: 3 })).not.toThrow();
    expect(rejection(`${'('.repeat(3)}emails[value pr])))`, { maxDepth: 3 }).message).toMatch(/deeper than 3/);
  });

  it('does not count and/or chains as depth', () => {
    const chain = Array.from({ length: 200 }, (_, i) => `a${i} eq ${i}`).join(' and ');
    expect(() => parseFilter(chain, { maxDepth: 1 })).not.toThrow();
  });

  it('names the position of the problem', () => {
    expect(rejection('userName eq "a" and title xx "b"').message).toMatch(/unknown operator 'xx' at position 27/);
  });
});

describe('parseFilter: values PostgreSQL cannot take', () => {
  it.each([
    [String.raw`userName eq "a\u0000b"`, /position 13 holds a NUL character/],
    [String.raw`userName eq "\u0000"`, /NUL character/],
    [String.raw`emails[value eq "\u0000"]`, /NUL character/],
    [String.raw`members[value eq "x\u0000"]`, /NUL character/],
    [String.raw`not (title sw "\u0000")`, /NUL character/],
    [String.raw`userName eq "x\ud800y"`, /not valid Unicode: it holds a lone surrogate/],
    [String.raw`userName eq "\udc00"`, /lone surrogate/],
    [String.raw`userName eq "\udc00\ud800"`, /lone surrogate/],
    [String.raw`userName eq "\ud83d"`, /lone surrogate/],
    ['userName eq "x\ud800"', /lone surrogate/],
    ['n gt 1e400', /the number 1e400 at position 6 is out of range/],
    ['n lt -1e400', /out of range/],
    [`n eq 1${'0'.repeat(400)}`, /out of range/],
  ])('refuses %s', (text, message) => {
    expect(rejection(text).message).toMatch(message);
  });

  it('takes a surrogate pair, large finite numbers and underflow to 0', () => {
    expect(parseFilter(String.raw`userName eq "\ud83d\ude00"`)).toEqual(cmp('userName', 'eq', '😀'));
    expect(parseFilter('n lt 1e308')).toEqual(cmp('n', 'lt', 1e308));
    expect(parseFilter('n lt 99999999999999999999')).toEqual(cmp('n', 'lt', 1e20));
    expect(parseFilter('n gt 1e-400')).toEqual(cmp('n', 'gt', 0));
  });

  it('refuses a string holding NUL or a lone surrogate wherever it stands (generated)', () => {
    const bad = fc.oneof(
      fc.constant('\\u0000'),
      fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => `\\u${c.toString(16)}`),
      fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
    );
    const safe = fc.string({ maxLength: 5 }).map((s) => JSON.stringify(s).slice(1, -1));
    const place = fc.constantFrom(
      (v: string) => `userName eq "${v}"`,
      (v: string) => `title pr and not (title co "${v}")`,
      (v: string) => `emails[type eq "work" and value ew "${v}"]`,
      (v: string) => `(a eq 1 or b sw "${v}")`,
      (v: string) => `emails[type eq "work"].value eq "${v}"`,
    );
    fc.assert(
      fc.property(safe, bad, safe, place, (before, value, after, filter) => {
        expect(rejection(filter(`${before}${value}${after}`)).message).toMatch(/NUL character|lone surrogate/);
      }),
    );
  });
});
