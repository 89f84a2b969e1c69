import fc from 'fast-check';
import { isUtf8 } from 'node:buffer';
import type { NextFunction, Request, Response } from 'express';
import { ScimError } from '../../src/scim/http/errors';
import { inputGuard, utf8Body } from '../../src/scim/http/input-guard';

/** What inputGuard does with this request: 'next', or the error it throws. */
function guard(body: unknown, url = '/scim/v2/Users', query: Record<string, unknown> = {}): 'next' | ScimError {
  let passed = false;
  try {
    inputGuard({ body, url, originalUrl: url, query } as unknown as Request, {} as Response, (() => (passed = true)) as NextFunction);
  } catch (error) {
    expect(error).toBeInstanceOf(ScimError);
    return error as ScimError;
  }
  expect(passed).toBe(true);
  return 'next';
}

const verify = (bytes: Buffer, encoding: string | null = 'utf-8') => {
  try {
    utf8Body({} as never, {}, bytes, encoding);
    return 'ok';
  } catch (error) {
    const e = error as { type: string; status: number };
    return `${e.status} ${e.type}`;
  }
};

describe('utf8Body', () => {
  it('passes UTF-8, with or without a byte order mark', () => {
    expect(verify(Buffer.from('{"userName":"José 😀"}'))).toBe('ok');
    expect(verify(Buffer.from('\ufeff{}'))).toBe('ok');
    expect(verify(Buffer.alloc(0))).toBe('ok');
  });

  it.each([[[0xff]], [[0xc0, 0xaf]], [[0xed, 0xa0, 0x80]], [[0xe2, 0x82]], [[0x80]], [[0xf4, 0x90, 0x80, 0x80]]])('refuses the bytes %j', (bytes) => {
    expect(verify(Buffer.concat([Buffer.from('{"a":"'), Buffer.from(bytes), Buffer.from('"}')]))).toBe('400 entity.not.utf8');
  });

  it('refuses another charset with 415', () => {
    expect(verify(Buffer.from('{}', 'utf16le'), 'utf-16le')).toBe('415 charset.unsupported');
  });

  it('agrees with a strict decoder on any bytes (generated)', () => {
    const strict = new TextDecoder('utf-8', { fatal: true });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), (bytes) => {
        let decodes = true;
        try {
          strict.decode(bytes);
        } catch {
          decodes = false;
        }
        expect(verify(Buffer.from(bytes))).toBe(decodes ? 'ok' : '400 entity.not.utf8');
        expect(isUtf8(bytes)).toBe(decodes);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('inputGuard', () => {
  it('passes well-formed text, surrogate pairs included', () => {
    expect(guard({ userName: 'a😀b', emails: [{ value: 'ü@x' }] }, '/scim/v2/Users?filter=userName%20eq%20%22%C3%BC%22', { filter: 'userName eq "ü"' })).toBe(
      'next',
    );
  });

  it.each([
    ['in a value', { userName: 'x\ud800' }],
    ['deep in an array', { a: [{ b: ['ok', '\udfff'] }] }],
    ['in a key', { ['\udc00']: 1 }],
    ['reversed pair', { title: '\ude00\ud83d' }],
  ])('refuses a lone surrogate %s with 400 invalidSyntax', (_name, body) => {
    const error = guard(body) as ScimError;
    expect(error.scimType).toBe('invalidSyntax');
    expect(error.detail).toMatch(/not valid Unicode/);
  });

  it.each(['%FF', '%ED%A0%80', '%C0%AF', '%E2%82', '%F4%90%80%80', 'ok%C3'])('refuses the query string ?filter=%s', (encoded) => {
    const error = guard(undefined, `/scim/v2/Users?count=1&filter=${encoded}`, { filter: '\ufffd', count: '1' }) as ScimError;
    expect(error.scimType).toBe('invalidSyntax');
    expect(error.detail).toMatch(/query string is not valid UTF-8/);
  });

  it('passes percent signs that encode nothing, as the query parser keeps them', () => {
    expect(guard(undefined, '/scim/v2/Users?filter=100%25%20sure%ZZ%', { filter: '100% sure%ZZ%' })).toBe('next');
  });

  it('still refuses NUL characters in the body and the query', () => {
    expect((guard({ a: 'x\u0000' }) as ScimError).scimType).toBe('invalidValue');
    expect((guard(undefined, '/x?f=%00', { f: '\u0000' }) as ScimError).scimType).toBe('invalidValue');
    expect((guard(undefined, '/x?f=%00&f=1', { f: ['1', '\u0000'] }) as ScimError).scimType).toBe('invalidValue');
  });
});
