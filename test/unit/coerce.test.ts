import fc from 'fast-check';
import { coerceInbound } from '../../src/scim/schema/coerce';
import { ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA, configureScimmy } from '../../src/scim/schema/scimmy';

/*
 * coerceInbound is scimmy's validation of a POST or PUT body, without building a schema
 * instance (which coerces every value twice). Whatever a client sends, it must give what
 * the instance gives: the same resource, or the same refusal. The bodies are generated
 * from the schema definitions themselves (every attribute and sub-attribute of User with
 * the enterprise and Roster extensions, and of Group), each value of its type or of a
 * wrong one, with the attributes' names in any letter case and as URN-qualified keys.
 */

const SCIMMY = configureScimmy();
const ROSTER_SCHEMA = 'urn:ietf:params:scim:schemas:extension:roster:2.0:User';

type Json = Record<string, unknown>;

interface Attr {
  name: string;
  type: string;
  config: { multiValued?: boolean; canonicalValues?: unknown };
  subAttributes?: Attr[];
}
interface Def {
  id: string;
  attributes: (Attr | Def)[];
}
const isDef = (a: Attr | Def): a is Def => 'id' in a && Array.isArray((a as Def).attributes);

/** How the old path validated: a schema instance, then its JSON. */
function viaInstance(Schema: new (data: Json, direction: string) => object, data: Json): unknown {
  return JSON.parse(JSON.stringify(new Schema(data, 'in')));
}

/** A result or a refusal, comparable: the error's class, message, status and scimType. */
function outcome(f: () => unknown): unknown {
  try {
    return { value: f() };
  } catch (error) {
    const e = error as Error & { status?: number; scimType?: string };
    return { error: e.constructor.name, message: e.message, status: e.status, scimType: e.scimType };
  }
}

const anyCase = (name: string) => fc.constantFrom(name, name.toLowerCase(), name.toUpperCase());

/** Something of the wrong kind, or nothing; numbers as text among them (some of which coerce once but not twice). */
const odd = fc.oneof(
  fc.constant(null),
  fc.constant(undefined),
  fc.integer(),
  fc.boolean(),
  fc.string({ maxLength: 4 }),
  fc.constant({}),
  fc.constant([]),
  fc.constant('2024-13-45T99:00:00Z'),
  fc.constantFrom('1000000000000000000000', '2.0', '1e3', '-0', '12', '0.5', '+275760-09-13T00:00:00.000Z'),
);

function scalar(a: Attr, wrong: number): fc.Arbitrary<unknown> {
  const canonical = Array.isArray(a.config.canonicalValues) ? (a.config.canonicalValues as string[]) : [];
  const right: fc.Arbitrary<unknown> = (() => {
    switch (a.type) {
      case 'boolean':
        return fc.boolean();
      // Numbers as text too: scimmy takes them, and some coerce once but not twice ("1e21" as digits, "2.0").
      case 'integer':
        return fc.oneof(fc.integer(), fc.constantFrom(1e21, 2 ** 53 + 1, -0, '12', '1000000000000000000000', '2.0'));
      case 'decimal':
        return fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(2, 0.5, 1e21, '2.0', '0.5', '1000000000000000000000'));
      case 'reference':
        return wrong === 0
          ? fc.constant('https://example.com/Users/2819c223')
          : fc.constantFrom('https://example.com/Users/2819c223', 'https://example.com/Groups/e9e30dba', 'urn:example:b');
      case 'binary':
        return fc.constantFrom('aGVsbG8=', 'AAAA', 'not base64!');
      case 'dateTime':
        return fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((d) => d.toISOString());
      default:
        if (canonical.length === 0) return fc.string({ maxLength: 12 });
        return wrong === 0 ? fc.constantFrom(...canonical) : fc.oneof(fc.constantFrom(...canonical), fc.string({ maxLength: 6 }));
    }
  })();
  return wrong === 0 ? right : fc.oneof({ weight: 4, arbitrary: right }, { weight: wrong, arbitrary: odd });
}

function complexValue(a: Attr, depth: number, wrong: number): fc.Arbitrary<unknown> {
  const value = objectOf(a.subAttributes ?? [], depth + 1, wrong);
  return wrong === 0 ? value : fc.oneof({ weight: 5, arbitrary: value }, { weight: wrong, arbitrary: odd });
}

/** A value of the attribute; with `wrong` above 0, now and then one of the wrong kind (a list for one value, say). */
function valueOf(a: Attr, depth: number, wrong: number): fc.Arbitrary<unknown> {
  const one = a.type === 'complex' ? complexValue(a, depth, wrong) : scalar(a, wrong);
  const many = fc.array(one, { maxLength: 3 });
  if (wrong === 0) return a.config.multiValued ? many : one;
  return a.config.multiValued
    ? fc.oneof({ weight: 6, arbitrary: many }, { weight: wrong, arbitrary: one })
    : fc.oneof({ weight: 6, arbitrary: one }, { weight: wrong, arbitrary: many });
}

/** An object with some of these attributes (names in any case) and now and then one no schema has. */
function objectOf(attributes: Attr[], depth: number, wrong: number): fc.Arbitrary<Json> {
  if (depth > 2 || attributes.length === 0) return fc.constant({});
  const entries = attributes.map((a) => fc.option(fc.tuple(anyCase(a.name), valueOf(a, depth, wrong)), { nil: undefined, freq: wrong === 0 ? 3 : 6 }));
  return fc
    .tuple(fc.tuple(...entries), fc.option(fc.tuple(fc.constantFrom('nickName2', 'x', 'Meta'), odd), { nil: undefined, freq: 4 }))
    .map(([picked, extra]) => {
      const out: Json = {};
      for (const entry of picked) if (entry) out[entry[0]] = entry[1];
      if (extra) out[extra[0]] = extra[1];
      return out;
    });
}

/**
 * A body for this definition. `wrong` 0: of the right kinds, with the required
 * attributes and the resource's URN in `schemas` (mostly accepted); above 0: anything.
 */
function bodyOf(definition: Def, wrong: number): fc.Arbitrary<Json> {
  const core = definition.attributes.filter((a): a is Attr => !isDef(a));
  const extensions = definition.attributes.filter(isDef);
  const qualifiable = extensions.flatMap((e) => (e.attributes as Attr[]).filter((a) => a.type !== 'complex').map((a) => [e, a] as const));
  const schemaLists = fc.subarray([definition.id, ...extensions.map((e) => e.id), definition.id.toLowerCase(), 'urn:example:other']);
  // An extension's URN as sent: mostly as written, now and then in another letter case (scimmy's own keys are exact).
  const urn = (id: string) => (wrong === 0 ? fc.constant(id) : fc.constantFrom(id, id, id, id.toLowerCase(), id.toUpperCase()));
  return fc
    .tuple(
      objectOf(core, 0, wrong),
      wrong === 0 ? schemaLists.map((list) => [definition.id, ...list]) : fc.option(schemaLists, { nil: undefined, freq: 6 }),
      fc.tuple(
        ...extensions.map((e) =>
          fc.option(
            fc.tuple(
              urn(e.id),
              wrong === 0
                ? objectOf(e.attributes as Attr[], 0, 0)
                : fc.oneof({ weight: 6, arbitrary: objectOf(e.attributes as Attr[], 0, wrong) }, { weight: wrong, arbitrary: odd }),
            ),
            { nil: undefined },
          ),
        ),
      ),
      fc.record(Object.fromEntries(core.filter((a) => (a.config as { required?: boolean }).required && wrong === 0).map((a) => [a.name, valueOf(a, 0, 0)]))),
      // A URN-qualified extension attribute beside (or instead of) the block.
      qualifiable.length === 0
        ? fc.constant(undefined)
        : fc.option(
            fc.constantFrom(...qualifiable).chain(([e, a]) => valueOf(a, 1, wrong).map((v) => [`${e.id}:${a.name}`, v] as const)),
            { nil: undefined },
          ),
    )
    .map(([body, schemas, blocks, required, qualified]) => {
      const out: Json = { ...body, ...required };
      if (schemas !== undefined) out.schemas = schemas;
      for (const block of blocks) if (block !== undefined) out[block[0]] = block[1];
      if (qualified) out[qualified[0]] = qualified[1];
      return out;
    });
}

/** scimmy's own types, to make schemas of attributes Roster's do not have. */
const { Attribute, SchemaDefinition } = SCIMMY.Types as unknown as {
  Attribute: new (type: string, name: string, config?: object, subAttributes?: unknown[]) => unknown;
  SchemaDefinition: new (
    name: string,
    id: string,
    description: string,
    attributes: unknown[],
  ) => Def & Parameters<typeof coerceInbound>[0] & { extend(e: unknown, required?: boolean): void };
};

describe('coerceInbound: scimmy validation without a schema instance', () => {
  const User = SCIMMY.Schemas.User as unknown as new (data: Json, direction: string) => object;
  const Group = SCIMMY.Schemas.Group as unknown as new (data: Json, direction: string) => object;
  const userDefinition = SCIMMY.Schemas.User.definition as unknown as Def & Parameters<typeof coerceInbound>[0];
  const groupDefinition = SCIMMY.Schemas.Group.definition as unknown as Def & Parameters<typeof coerceInbound>[0];

  it('gives what a User instance gives, value or refusal, for generated bodies', () => {
    fc.assert(
      fc.property(fc.oneof(bodyOf(userDefinition, 0), bodyOf(userDefinition, 1)), (body) => {
        expect(outcome(() => coerceInbound(userDefinition, structuredClone(body)))).toEqual(outcome(() => viaInstance(User, structuredClone(body))));
      }),
      { numRuns: 3_000 },
    );
  });

  it('gives what a Group instance gives, value or refusal, for generated bodies', () => {
    fc.assert(
      fc.property(fc.oneof(bodyOf(groupDefinition, 0), bodyOf(groupDefinition, 1)), (body) => {
        expect(outcome(() => coerceInbound(groupDefinition, structuredClone(body)))).toEqual(outcome(() => viaInstance(Group, structuredClone(body))));
      }),
      { numRuns: 1_000 },
    );
  });

  it("gives what an instance gives for a made-up schema with every kind of attribute Roster's schemas do not have yet", () => {
    // Numbers and dates inside complex values, an immutable multi-valued and a readWrite complex
    // extension attribute (the setters' mutability check), a never-returned sub-attribute, a required extension.
    const gadget = new SchemaDefinition('Gadget', 'urn:ietf:params:scim:schemas:core:2.0:Gadget', '', [
      new Attribute('string', 'label', { required: true }),
      new Attribute('complex', 'size', {}, [new Attribute('integer', 'width'), new Attribute('decimal', 'ratio'), new Attribute('dateTime', 'measured')]),
      new Attribute('string', 'pin', { returned: 'never' }),
      new Attribute('integer', 'rank'),
      new Attribute('decimal', 'weight'),
      new Attribute('dateTime', 'born'),
    ]);
    const extension = (name: string, id: string, attributes: unknown[]) => new SchemaDefinition(name, id, '', attributes);
    gadget.extend(
      extension('Extra', 'urn:ietf:params:scim:schemas:extension:extra:2.0:Gadget', [
        new Attribute('integer', 'count'),
        new Attribute('decimal', 'share'),
        new Attribute('dateTime', 'since'),
        new Attribute('string', 'tags', { multiValued: true, mutable: 'immutable' }),
        new Attribute('complex', 'badge', { mutable: 'readWrite' }, [
          new Attribute('string', 'code'),
          new Attribute('string', 'secret', { returned: 'never' }),
        ]),
        new Attribute('string', 'token', { returned: 'never' }),
        new Attribute('boolean', 'on', { mutable: 'immutable' }),
      ]),
      false,
    );
    gadget.extend(extension('Needed', 'urn:ietf:params:scim:schemas:extension:needed:2.0:Gadget', [new Attribute('string', 'why')]), true);
    // A block whose only value may be one that is never returned: the instance keeps it (and its URN).
    gadget.extend(
      extension('Badge', 'urn:ietf:params:scim:schemas:extension:badge:2.0:Gadget', [
        new Attribute('complex', 'badge', {}, [new Attribute('string', 'code'), new Attribute('string', 'secret', { returned: 'never' })]),
      ]),
      false,
    );
    const Base = SCIMMY.Types.Schema as unknown as new (data: Json, direction: string) => object;
    // As scimmy's own resource schemas are written (schemas.cjs): the instance's checks, then every value assigned.
    class Gadget extends Base {
      static get definition() {
        return gadget;
      }
      constructor(data: Json, direction: string) {
        super(data, direction);
        Object.assign(this, gadget.coerce(data, 'in'));
      }
    }
    fc.assert(
      fc.property(fc.oneof(bodyOf(gadget, 0), bodyOf(gadget, 1)), (body) => {
        expect(outcome(() => coerceInbound(gadget, structuredClone(body)))).toEqual(outcome(() => viaInstance(Gadget, structuredClone(body))));
      }),
      { numRuns: 3_000 },
    );
  });

  it('sees extensions added to a definition after its first use (scimmy extends definitions in place)', () => {
    const thing = new SchemaDefinition('Thing', 'urn:ietf:params:scim:schemas:core:2.0:Thing', '', [new Attribute('string', 'label')]);
    const id = 'urn:ietf:params:scim:schemas:extension:late:2.0:Thing';
    expect(coerceInbound(thing, { schemas: [thing.id], label: 'a' })).toEqual({ schemas: [thing.id], label: 'a', meta: { resourceType: 'Thing' } });
    thing.extend(new SchemaDefinition('Late', id, '', [new Attribute('string', 'note'), new Attribute('string', 'secret', { returned: 'never' })]), false);
    expect(coerceInbound(thing, { schemas: [thing.id, id], label: 'a', [id]: { note: 'n', secret: 's' } })).toEqual({
      schemas: [thing.id, id],
      label: 'a',
      meta: { resourceType: 'Thing' },
      [id]: { note: 'n' },
    });
  });

  it('leaves out what is never returned and empty extension blocks, as the instance does', () => {
    const body = {
      schemas: [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, ROSTER_SCHEMA],
      userName: 'ada@example.com',
      password: 'Secret-1234567',
      emails: [{ value: 'ada@example.com', type: 'work', primary: true }],
      [ENTERPRISE_USER_SCHEMA]: { manager: {} },
    };
    const value = coerceInbound(userDefinition, structuredClone(body));
    expect(value).toEqual(viaInstance(User, structuredClone(body)));
    expect(value).not.toHaveProperty('password');
    expect(value).not.toHaveProperty([ENTERPRISE_USER_SCHEMA]);
    expect(value.schemas).toEqual([USER_SCHEMA, ROSTER_SCHEMA]);
    expect(value.emails).toEqual([{ value: 'ada@example.com', type: 'work', primary: true }]);
  });

  it('refuses what the instance refuses, with its words', () => {
    expect(() => coerceInbound(groupDefinition, { schemas: [USER_SCHEMA], displayName: 'x' })).toThrow(
      'The request body supplied a schema type that is incompatible with this resource',
    );
    expect(() => coerceInbound(userDefinition, { schemas: [USER_SCHEMA], userName: 7, active: 'yes' })).toThrow(TypeError);
    expect(outcome(() => coerceInbound(groupDefinition, { schemas: [GROUP_SCHEMA] }))).toEqual(outcome(() => viaInstance(Group, { schemas: [GROUP_SCHEMA] })));
  });
});
