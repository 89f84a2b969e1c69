import { badRequest } from './errors';
import { PATCH_OP_SCHEMA, SCIMMY } from './scimmy';

type Json = Record<string, unknown>;
type SchemaClass = typeof SCIMMY.Schemas.User | typeof SCIMMY.Schemas.Group;

/**
 * Applies an RFC 7644 PatchOp to a resource in memory and returns the resource as it
 * would be afterwards; nothing is stored here. The caller turns the result into a
 * draft and hands it to the domain inside the transaction that locked the row, so
 * concurrent PATCHes serialise and none is lost.
 *
 * `password` operations are taken out first and returned apart: the password is
 * write-only and scimmy's schema would drop it.
 */
export async function applyPatch(
  schema: SchemaClass,
  resource: Json,
  body: unknown,
): Promise<{ resource: Json; password?: string }> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest('invalidSyntax', 'the request body must be a PatchOp JSON object');
  }
  const message = body as Json;
  const schemas = Array.isArray(message.schemas) ? message.schemas : [];
  if (!schemas.includes(PATCH_OP_SCHEMA)) throw badRequest('invalidSyntax', `schemas must be ["${PATCH_OP_SCHEMA}"]`);
  const operations = message.Operations;
  if (!Array.isArray(operations) || operations.length === 0) {
    throw badRequest('invalidSyntax', 'Operations must be a non-empty array');
  }
  let password: string | undefined;
  const rest: Json[] = [];
  for (const operation of operations as Json[]) {
    const found = passwordOf(operation);
    if (found === undefined) {
      rest.push(operation);
      continue;
    }
    if (found.remaining) rest.push(found.remaining);
    password = found.password;
  }
  if (rest.length === 0) return { resource, password };
  const patch = new SCIMMY.Messages.PatchOp({ schemas: [PATCH_OP_SCHEMA], Operations: rest as never });
  const instance = new schema(resource, 'out');
  const patched = await patch.apply(instance as never);
  const out = patched === undefined ? resource : (JSON.parse(JSON.stringify(patched)) as Json);
  return { resource: out, ...(password !== undefined ? { password } : {}) };
}

/** The password an operation sets, if any, and what is left of the operation without it. */
function passwordOf(operation: Json): { password: string; remaining?: Json } | undefined {
  if (!operation || typeof operation !== 'object') return undefined;
  const op = typeof operation.op === 'string' ? operation.op.toLowerCase() : '';
  if (op !== 'add' && op !== 'replace') return undefined;
  const path = typeof operation.path === 'string' ? operation.path.trim().toLowerCase() : undefined;
  if (path === 'password' || path === 'urn:ietf:params:scim:schemas:core:2.0:user:password') {
    if (typeof operation.value !== 'string') throw badRequest('invalidValue', 'password must be a string');
    return { password: operation.value };
  }
  if (path === undefined && operation.value && typeof operation.value === 'object' && !Array.isArray(operation.value)) {
    const value = { ...(operation.value as Json) };
    const key = Object.keys(value).find((k) => k.toLowerCase() === 'password');
    if (key === undefined) return undefined;
    const password = value[key];
    if (typeof password !== 'string') throw badRequest('invalidValue', 'password must be a string');
    delete value[key];
    return { password, ...(Object.keys(value).length > 0 ? { remaining: { ...operation, value } } : {}) };
  }
  return undefined;
}
