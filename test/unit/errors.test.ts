import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import express from 'express';
import pino from 'pino';
import SCIMMY from 'scimmy';
import request from 'supertest';
import { DomainError, type DomainErrorKind } from '../../src/domain/errors';
import {
  BY_KIND,
  ERROR_SCHEMA,
  ScimError,
  UNAVAILABLE_RETRY_AFTER_SECONDS,
  conflict,
  forbidden,
  internalError,
  invalidCursor,
  invalidFilter,
  invalidPath,
  invalidSyntax,
  invalidValue,
  invalidVers,
  mutability,
  noTarget,
  notFound,
  notImplemented,
  payloadTooLarge,
  preconditionFailed,
  routeNotFound,
  sensitive,
  toScimError,
  tooMany,
  tooManyRequests,
  unauthorized,
  unavailable,
  uniqueness,
  unsupportedMediaType,
  validated,
  type ScimErrorConstructor,
} from '../../src/scim/http/errors';
import { locals } from '../../src/scim/http/http';
import { scimErrorHandler } from '../../src/scim/http/router';

/** What each domain error kind answers. The Record type makes a new kind fail the typecheck until it is listed here. */
const EXPECTED_BY_KIND: Record<DomainErrorKind, [number, string | undefined]> = {
  invalid_value: [400, 'invalidValue'],
  invalid_filter: [400, 'invalidFilter'],
  invalid_syntax: [400, 'invalidSyntax'],
  invalid_path: [400, 'invalidPath'],
  no_target: [400, 'noTarget'],
  mutability: [400, 'mutability'],
  uniqueness: [409, 'uniqueness'],
  forbidden: [403, undefined],
  not_found: [404, undefined],
  precondition_failed: [412, undefined],
  too_many: [400, 'tooMany'],
  unavailable: [503, undefined],
};

/** Each constructor's fixed status and scimType (RFC 7644 section 3.12, RFC 9865 for invalidCursor). */
const CONSTRUCTORS: [string, ScimErrorConstructor, number, string | undefined][] = [
  ['invalidFilter', invalidFilter, 400, 'invalidFilter'],
  ['tooMany', tooMany, 400, 'tooMany'],
  ['uniqueness', uniqueness, 409, 'uniqueness'],
  ['mutability', mutability, 400, 'mutability'],
  ['invalidSyntax', invalidSyntax, 400, 'invalidSyntax'],
  ['invalidPath', invalidPath, 400, 'invalidPath'],
  ['noTarget', noTarget, 400, 'noTarget'],
  ['invalidValue', invalidValue, 400, 'invalidValue'],
  ['invalidVers', invalidVers, 400, 'invalidVers'],
  ['sensitive', sensitive, 400, 'sensitive'],
  ['invalidCursor', invalidCursor, 400, 'invalidCursor'],
  ['unauthorized', unauthorized, 401, undefined],
  ['forbidden', forbidden, 403, undefined],
  ['notFound', notFound, 404, undefined],
  ['conflict', conflict, 409, undefined],
  ['preconditionFailed', preconditionFailed, 412, undefined],
  ['payloadTooLarge', payloadTooLarge, 413, undefined],
  ['unsupportedMediaType', unsupportedMediaType, 415, undefined],
  ['internalError', internalError, 500, undefined],
  ['notImplemented', notImplemented, 501, undefined],
  ['unavailable', unavailable, 503, undefined],
];

describe('the error table (domain error kinds to SCIM errors)', () => {
  it('lists every kind, and only those', () => {
    expect(Object.keys(BY_KIND).sort()).toEqual(Object.keys(EXPECTED_BY_KIND).sort());
  });

  it.each(Object.entries(EXPECTED_BY_KIND))('maps %s to its status and scimType, keeping code and message', (kind, [status, scimType]) => {
    const error = toScimError(new DomainError(kind as DomainErrorKind, 'test.some_code', 'what went wrong'), 'req-1');
    expect(error).toBeInstanceOf(ScimError);
    expect(error.status).toBe(status);
    expect(error.scimType).toBe(scimType);
    expect(error.code).toBe('test.some_code');
    expect(error.detail).toBe('what went wrong');
    expect(error.retryAfterSeconds).toBe(kind === 'unavailable' ? UNAVAILABLE_RETRY_AFTER_SECONDS : undefined);
  });
});

describe('the SCIM error constructors', () => {
  it.each(CONSTRUCTORS)('%s answers with its fixed status and scimType', (_name, make, status, scimType) => {
    const error = make('test.code', 'detail');
    expect(error).toBeInstanceOf(ScimError);
    expect(error.status).toBe(status);
    expect(error.scimType).toBe(scimType);
    expect(error.code).toBe('test.code');
    expect(error.detail).toBe('detail');
  });

  it('429 carries its wait as Retry-After, and 503 one second', () => {
    const limited = tooManyRequests('rate.test', 'slow down', 7);
    expect([limited.status, limited.scimType, limited.retryAfterSeconds]).toEqual([429, undefined, 7]);
    expect(unavailable('database.test', 'away').retryAfterSeconds).toBe(1);
  });

  it('sends the RFC 7644 body, without the code', () => {
    expect(JSON.parse(JSON.stringify(invalidPath('patch.path_invalid', '"x" is not a valid path')))).toEqual({
      schemas: [ERROR_SCHEMA],
      status: '400',
      scimType: 'invalidPath',
      detail: '"x" is not a valid path',
    });
    expect(JSON.parse(JSON.stringify(conflict('bulk.bulk_id_circular', 'circular')))).toEqual({
      schemas: [ERROR_SCHEMA],
      status: '409',
      detail: 'circular',
    });
  });

  it('routeNotFound is 404 with its code', () => {
    const error = routeNotFound('GET', '/scim/v2/Widgets');
    expect([error.status, error.code, error.detail]).toEqual([404, 'request.route_unknown', 'no SCIM endpoint answers GET /scim/v2/Widgets']);
  });
});

describe('toScimError', () => {
  it('passes a SCIM error through as it is', () => {
    const error = noTarget('patch.no_match', 'nothing');
    expect(toScimError(error, 'req-1')).toBe(error);
  });

  it("keeps the status and scimType of scimmy's own 4xx errors", () => {
    const error = toScimError(new SCIMMY.Types.Error(400, 'invalidFilter', 'scimmy says no'), 'req-1');
    expect([error.status, error.scimType, error.code, error.detail]).toEqual([400, 'invalidFilter', 'scimmy.refused', 'scimmy says no']);
  });

  it('turns anything else (a scimmy 5xx included) into a 500 naming only the request id', () => {
    for (const thrown of [new Error('secret internals'), new SCIMMY.Types.Error(500, '', 'scimmy broke'), 'a string']) {
      const error = toScimError(thrown, 'req-42');
      expect([error.status, error.scimType, error.code]).toEqual([500, undefined, 'internal.error']);
      expect(error.detail).toBe('internal error; quote request id req-42 when reporting it');
    }
  });
});

describe('validated (scimmy schema coercion)', () => {
  it("turns scimmy's TypeError into 400 invalidValue with the site's code", () => {
    let caught: unknown;
    try {
      validated('user.schema_invalid', () => {
        throw new TypeError("Attribute 'active' expected value type 'boolean'");
      });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ScimError);
    expect(caught).toMatchObject({ status: 400, scimType: 'invalidValue', code: 'user.schema_invalid' });
  });

  it('lets SCIM errors, scimmy errors and other errors through unchanged', () => {
    const scim = invalidSyntax('test.code', 'x');
    const scimmy = new SCIMMY.Types.Error(400, 'invalidSyntax', 'y');
    const other = new RangeError('z');
    for (const error of [scim, scimmy, other]) {
      expect(() =>
        validated('test.code', () => {
          throw error;
        }),
      ).toThrow(error);
    }
    expect(validated('test.code', () => 5)).toBe(5);
  });
});

describe('refusal codes in src/scim', () => {
  const dir = join(__dirname, '../../src/scim');
  const sources = (readdirSync(dir, { recursive: true }) as string[])
    .filter((path) => path.endsWith('.ts'))
    .map((path) => ({ name: basename(path), text: readFileSync(join(dir, path), 'utf8') }));
  const CODE = /^[a-z]+(?:\.[a-z0-9_]+)+$/;
  const CALL =
    /\b(?:invalidFilter|tooMany|uniqueness|mutability|invalidSyntax|invalidPath|noTarget|invalidValue|invalidVers|sensitive|invalidCursor|unauthorized|forbidden|notFound|conflict|preconditionFailed|payloadTooLarge|unsupportedMediaType|internalError|notImplemented|unavailable|tooManyRequests|validated)\(\s*'([^']*)'/g;
  // The filter parser throws the domain's invalidFilter(message, code): its codes are the `filter.` literals.
  const FILTER_CODE = /'(filter\.[a-z0-9_.]+)'/g;
  const codes = sources.flatMap(({ name, text }) =>
    name.startsWith('filter-')
      ? [...text.matchAll(FILTER_CODE)].map((m) => ({ name, code: m[1] }))
      : [...text.matchAll(CALL)].map((m) => ({ name, code: m[1] })),
  );

  it('are found (the scan works)', () => {
    expect(codes.length).toBeGreaterThan(80);
  });

  it('are stable dotted names', () => {
    expect(codes.filter(({ code }) => !CODE.test(code))).toEqual([]);
  });

  it('name one site each', () => {
    const seen = new Map<string, string[]>();
    for (const { name, code } of codes) seen.set(code, [...(seen.get(code) ?? []), name]);
    expect([...seen].filter(([, files]) => files.length > 1)).toEqual([]);
  });
});

describe('the SCIM error handler', () => {
  /** An app whose one route throws `error`; resolves with the response and the errorCode the request log line would show. */
  async function refuse(error: unknown) {
    const app = express();
    let errorCode: string | undefined = 'not set';
    app.use((_req, res, next) => {
      locals(res).requestId = 'req-7';
      res.on('finish', () => {
        errorCode = locals(res).errorCode;
      });
      next();
    });
    app.get('/ok', (_req, res) => {
      res.status(200).end();
    });
    app.get('/refused', () => {
      throw error;
    });
    app.use(scimErrorHandler(pino({ level: 'silent' })));
    const res = await request(app).get(error === undefined ? '/ok' : '/refused');
    await new Promise((resolve) => setImmediate(resolve));
    return { res, errorCode };
  }

  it('sends the SCIM body and puts the code on res.locals for the request log', async () => {
    const { res, errorCode } = await refuse(invalidValue('test.refused', 'no'));
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ schemas: [ERROR_SCHEMA], status: '400', scimType: 'invalidValue', detail: 'no' });
    expect(errorCode).toBe('test.refused');
  });

  it("logs a domain error's own code, and sends Retry-After with a 503", async () => {
    const { res, errorCode } = await refuse(new DomainError('unavailable', 'database.unavailable', 'away'));
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(errorCode).toBe('database.unavailable');
  });

  it('codes a body-parser refusal and an unexpected error', async () => {
    expect((await refuse(Object.assign(new Error('bad json'), { type: 'entity.parse.failed', status: 400 }))).errorCode).toBe('request.body_not_json');
    const crash = await refuse(new Error('boom'));
    expect(crash.res.status).toBe(500);
    expect(crash.errorCode).toBe('internal.error');
  });

  it('leaves errorCode unset on success', async () => {
    expect((await refuse(undefined)).errorCode).toBeUndefined();
  });
});
