import { Router, type Request, type Response } from 'express';
import type { Actor } from '../../domain/actor';
import type { Page } from '../../domain/ports';
import { StaleDraft } from '../../domain/service-deps';
import type { ReadResources } from '../../requestlog/read-summary';
import { nextCursor } from '../list/cursor';
import { unavailable } from '../http/errors';
import { handler } from '../http/handler';
import {
  actorOf,
  expectedVersion,
  notModified,
  scimBaseUrl,
  sendNoContent,
  sendNotModified,
  sendResource,
  sendScim,
  sendScimText,
  wantsBody,
} from '../http/http';
import type { listRequestFrom } from '../list/list-query';
import { cursorListResponse, listResponse } from '../list/list-response';
import { projectionFrom, type Projection } from '../list/projection';
import { searchParams, type QueryParams } from '../list/search';

type Json = Record<string, unknown>;

/**
 * The writes of one resource type, each turning a request into the desired state and
 * handing it to the domain. Shared by the routes and by Bulk, so both run the same checks.
 */
export interface ResourceWrites<T> {
  create(actor: Actor, body: unknown): Promise<T>;
  /** PUT: the body is the desired state; the last writer wins, unless If-Match says otherwise. */
  replace(actor: Actor, id: string, body: unknown, expectedVersion?: number): Promise<T>;
  /** PATCH: the operations applied to the resource as stored (`baseUrl` renders it). */
  patch(actor: Actor, id: string, body: unknown, baseUrl: string, expectedVersion?: number): Promise<T>;
  remove(actor: Actor, id: string, expectedVersion?: number): Promise<void>;
}

/** A ListResponse: JSON text already serialised (users rendered by the store), with the resources it holds for the request log, or a body to serialise. */
export type ListAnswer = { text: string; read?: ReadResources } | { body: unknown };

/** What the generic router needs of a resource type. */
export interface ResourceType<T extends { version: number }> {
  writes: ResourceWrites<T>;
  read(actor: Actor, id: string): Promise<T>;
  /** The resources' SCIM form under a projection; `created`: the items were just created (a new user is in no group yet). */
  render(actor: Actor, baseUrl: string, items: T[], projection: Projection, created?: boolean): Promise<Json[]>;
  /** A list or search (`params` from the query string or a SearchRequest body). */
  list(actor: Actor, params: QueryParams, baseUrl: string): Promise<ListAnswer>;
}

/** The ListResponse of a page of resources: paged by index, or by cursor (RFC 9865) when the request asked for one. */
export function pageResponse(request: ReturnType<typeof listRequestFrom>, page: Pick<Page<unknown>, 'total' | 'next'>, resources: unknown[]) {
  const { query, cursor } = request;
  return cursor
    ? cursorListResponse(resources, page.total, nextCursor(cursor, query, page, resources.length))
    : listResponse(resources, page.total, query.startIndex);
}

/**
 * A collection endpoint (/Users, /Groups): list, search, create, read, replace, patch,
 * delete. ETags are the resources' versions (http.ts): a read answers 304 to an
 * If-None-Match naming the version, writes take If-Match, PATCH answers 204 with the
 * new ETag unless the client asked for attributes.
 */
export function resourceRouter<T extends { version: number }>(type: ResourceType<T>, publicBaseUrl: string | undefined): Router {
  const router = Router();
  const base = (req: Request) => scimBaseUrl(req, publicBaseUrl);
  const { writes } = type;

  async function list(req: Request, res: Response, params: QueryParams) {
    const answer = await type.list(actorOf(res), params, base(req));
    if ('text' in answer) sendScimText(res, 200, answer.text, answer.read);
    else sendScim(res, 200, answer.body);
  }

  async function respond(req: Request, res: Response, status: number, item: T) {
    const [resource] = await type.render(actorOf(res), base(req), [item], projectionFrom(req.query), status === 201);
    sendResource(res, status, resource);
  }

  router.get(
    '/',
    handler((req, res) => list(req, res, req.query)),
  );
  router.post(
    '/.search',
    handler((req, res) => list(req, res, searchParams(req.body))),
  );

  router.post(
    '/',
    handler(async (req, res) => {
      await respond(req, res, 201, await writes.create(actorOf(res), req.body));
    }),
  );

  router.get(
    '/:id',
    handler(async (req, res) => {
      const item = await type.read(actorOf(res), req.params.id as string);
      if (notModified(req, item.version)) sendNotModified(res, item.version);
      else await respond(req, res, 200, item);
    }),
  );

  router.put(
    '/:id',
    handler(async (req, res) => {
      await respond(req, res, 200, await writes.replace(actorOf(res), req.params.id as string, req.body, expectedVersion(req)));
    }),
  );

  router.patch(
    '/:id',
    handler(async (req, res) => {
      const item = await writes.patch(actorOf(res), req.params.id as string, req.body, base(req), expectedVersion(req));
      if (wantsBody(req)) await respond(req, res, 200, item);
      else sendNoContent(res, item.version);
    }),
  );

  router.delete(
    '/:id',
    handler(async (req, res) => {
      await writes.remove(actorOf(res), req.params.id as string, expectedVersion(req));
      res.status(204).end();
    }),
  );

  return router;
}

/** How many times a PATCH is worked out again when the resource changed under it. */
export const PATCH_ATTEMPTS = 20;

/** The tail of each resource's queue of PATCH retries in this process, by key. */
const retrying = new Map<string, Promise<void>>();

/** Runs `work` after every earlier call with the same key has finished (a per-resource queue in this process). */
async function oneAtATime<T>(key: string, work: () => Promise<T>): Promise<T> {
  const previous = retrying.get(key) ?? Promise.resolve();
  let release: () => void = () => undefined;
  const mine = new Promise<void>((resolve) => {
    release = resolve;
  });
  const tail = previous.then(() => mine);
  retrying.set(key, tail);
  try {
    await previous;
    return await work();
  } finally {
    release();
    if (retrying.get(key) === tail) retrying.delete(key);
  }
}

/** A few random milliseconds, growing with the attempts: racers in other processes spread out. */
const backoff = (attempt: number) => new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2 ** attempt, 50)));

/**
 * Runs a PATCH (read the resource, apply the operations, store the draft based on the
 * version read) until its draft is not stale. The first attempt runs at once. One that
 * lost to a concurrent change waits its turn in the resource's queue in this process
 * (`key`: resource type, organization, id), then reads the fresh resource and applies
 * the operations again, so concurrent PATCHes of different attributes all keep their
 * change, and PATCHes racing in one process retry one after another instead of
 * stampeding. A draft still stale (a writer in another process) is retried after a
 * short random pause; a resource still changing after PATCH_ATTEMPTS attempts is a 503.
 */
export async function untilFresh<T>(key: string, attempt: () => Promise<T>): Promise<T> {
  try {
    return await attempt();
  } catch (error) {
    if (!(error instanceof StaleDraft)) throw error;
  }
  return oneAtATime(key, async () => {
    for (let attempts = 2; ; attempts++) {
      try {
        return await attempt();
      } catch (error) {
        if (!(error instanceof StaleDraft)) throw error;
        if (attempts >= PATCH_ATTEMPTS) {
          throw unavailable('patch.contended', `the resource kept changing while this PATCH was applied (${PATCH_ATTEMPTS} attempts); try again`);
        }
        await backoff(attempts);
      }
    }
  });
}
