import type { NextFunction, Request, Response } from 'express';

/**
 * Every SCIM route runs through this: whatever its function throws reaches the one
 * SCIM error handler (never scimmy's, which would call it 404 "not found").
 */
export function handler(fn: (req: Request, res: Response) => Promise<void>) {
  return (req: Request, res: Response, next: NextFunction) => {
    // The route pattern (not the path) labels the request log line and the metrics.
    const pattern = `${req.baseUrl}${(req.route as { path?: string } | undefined)?.path ?? ''}`;
    (res.locals as { route?: string }).route = pattern.length > 1 ? pattern.replace(/\/$/, '') : pattern;
    fn(req, res).catch(next);
  };
}
