import type { NextFunction, Request, Response } from 'express';
import { badRequest } from './errors';

const MAX_DEPTH = 32;

/**
 * Refuses input no attribute can hold, before anything reads it: JSON nested deeper
 * than any SCIM resource needs, and NUL characters (PostgreSQL text cannot store
 * them), in the body or the query string. Iterative, so no input can exhaust the stack.
 */
export function inputGuard(req: Request, _res: Response, next: NextFunction): void {
  for (const [name, value] of Object.entries(req.query)) {
    if (typeof value === 'string' ? value.includes('\u0000') : value !== undefined && JSON.stringify(value).includes('\\u0000')) {
      throw badRequest('invalidValue', `the query parameter ${name} must not contain NUL characters`);
    }
  }
  const stack: [unknown, number][] = [[req.body, 0]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop() as [unknown, number];
    if (typeof value === 'string') {
      if (value.includes('\u0000')) throw badRequest('invalidValue', 'strings must not contain NUL characters');
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_DEPTH) throw badRequest('invalidSyntax', `the request body is nested deeper than ${MAX_DEPTH} levels`);
    const entries = Array.isArray(value) ? value : Object.entries(value as Record<string, unknown>).flat();
    for (const item of entries) stack.push([item, depth + 1]);
  }
  next();
}
