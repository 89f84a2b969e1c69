import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { parsePollRequest, PollRequestError, type SetPoller } from '../../events/poll';
import { actorOf, locals, scimBaseUrl } from '../http/http';
import { utf8Body } from '../http/input-guard';

const JSON_TYPES = ['application/json', 'application/*+json'];

/** An RFC 8936 error (section 2.4.4): `{ err, description }`, as JSON. */
function sendPollError(res: Response, status: number, description: string): void {
  locals(res).errorCode = 'events.invalid_request';
  res
    .status(status)
    .type('application/json')
    .send(JSON.stringify({ err: 'invalid_request', description }));
}

const hasBody = (req: Request) => req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;

/**
 * POST /scim/v2/Events/poll: poll delivery of the caller's organization's events
 * (RFC 8936). Not a SCIM resource: mounted inside the SCIM router for its bearer
 * authentication and rate limit, but it speaks RFC 8936's JSON (requests, answers
 * and errors), not SCIM's.
 */
export function eventPollRouter(poller: SetPoller, maxBodyBytes: number, publicBaseUrl: string | undefined): Router {
  const router = Router();
  router.post('/', express.json({ type: JSON_TYPES, limit: maxBodyBytes, strict: false, verify: utf8Body }), async (req, res) => {
    if (req.body === undefined && hasBody(req)) return sendPollError(res, 415, 'the request body must be application/json');
    const actor = actorOf(res);
    let request;
    try {
      request = parsePollRequest(actor.organizationId, req.body === undefined ? {} : req.body);
    } catch (error) {
      if (error instanceof PollRequestError) return sendPollError(res, 400, error.message);
      throw error;
    }
    const base = scimBaseUrl(req, publicBaseUrl);
    // iss is the SCIM service's base URL, as in pushed SETs (roster.ts eventIssuer).
    const response = await poller.poll(actor.organizationId, request, { issuer: base, audience: `${base}/Events/poll` }, () => req.socket.destroyed);
    res.status(200).type('application/json').send(JSON.stringify(response));
  });
  router.all('/', (_req, res) => {
    res.setHeader('Allow', 'POST');
    sendPollError(res, 405, 'poll with POST');
  });
  // A body that is not JSON, not UTF-8 or too large: RFC 8936's error, not SCIM's.
  router.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
    const e = error as { type?: string; status?: number } | undefined;
    if (typeof e?.type === 'string' && typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      return sendPollError(res, e.status, e.type === 'entity.parse.failed' ? 'the request body is not valid JSON' : 'the request body cannot be read');
    }
    next(error);
  });
  return router;
}
