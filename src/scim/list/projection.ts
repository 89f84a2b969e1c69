import type { QueryParams } from './search';
import type { AttributePath } from '../../domain/filter';
import { attributePath } from './list-query';

type Json = Record<string, unknown>;

/** Attributes returned whatever the request asks (RFC 7643 `returned: always`). */
const ALWAYS = new Set(['id', 'schemas']);

export interface Projection {
  attributes?: AttributePath[];
  excluded?: AttributePath[];
}

function paths(value: unknown, parameter: string): AttributePath[] | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  return value.split(',').map((p) => attributePath(p, parameter));
}

export function projectionFrom(query: QueryParams): Projection {
  return { attributes: paths(query.attributes, 'attributes'), excluded: paths(query.excludedAttributes, 'excludedAttributes') };
}

/** Whether the projection leaves this top-level attribute out (so it need not be read). */
export function isExcluded(projection: Projection, attribute: string): boolean {
  const name = attribute.toLowerCase();
  if (projection.attributes) return !projection.attributes.some((p) => p.attribute.toLowerCase() === name);
  return (projection.excluded ?? []).some((p) => p.attribute.toLowerCase() === name && !p.subAttribute);
}

function findKey(object: Json, name: string): string | undefined {
  const lower = name.toLowerCase();
  return Object.keys(object).find((k) => k.toLowerCase() === lower);
}

/** The extension block a path names as a whole (`attributes=urn:...:enterprise:2.0:User`), if it does. */
function wholeBlock(resource: Json, path: AttributePath): string | undefined {
  if (!path.schema || path.subAttribute) return undefined;
  return findKey(resource, `${path.schema}:${path.attribute}`);
}

/** The container a path addresses: the resource itself, or an extension's block. */
function container(resource: Json, path: AttributePath): Json | undefined {
  if (!path.schema) return resource;
  const key = findKey(resource, path.schema);
  const block = key ? resource[key] : undefined;
  return block && typeof block === 'object' ? (block as Json) : undefined;
}

/** Applies `attributes` / `excludedAttributes` to one resource. */
export function project(resource: Json, projection: Projection): Json {
  if (projection.attributes) {
    const out: Json = {};
    for (const key of Object.keys(resource)) if (ALWAYS.has(key)) out[key] = resource[key];
    for (const path of projection.attributes) {
      const block = wholeBlock(resource, path);
      if (block) {
        out[block] = resource[block];
        continue;
      }
      const source = container(resource, path);
      const key = source && findKey(source, path.attribute);
      if (!source || !key) continue;
      const target = path.schema ? ((out[findKey(resource, path.schema) as string] ??= {}) as Json) : out;
      const value = source[key];
      if (!path.subAttribute) {
        target[key] = value;
      } else if (Array.isArray(value)) {
        const previous = (target[key] as Json[] | undefined) ?? value.map(() => ({}));
        target[key] = value.map((item, i) => {
          const sub = findKey(item as Json, path.subAttribute as string);
          return sub ? { ...previous[i], [sub]: (item as Json)[sub] } : previous[i];
        });
      } else if (value && typeof value === 'object') {
        const sub = findKey(value as Json, path.subAttribute);
        if (sub) target[key] = { ...((target[key] as Json) ?? {}), [sub]: (value as Json)[sub] };
      }
    }
    return out;
  }
  if (projection.excluded) {
    const out: Json = structuredClone(resource);
    for (const path of projection.excluded) {
      const block = wholeBlock(out, path);
      if (block) {
        delete out[block];
        continue;
      }
      const source = container(out, path);
      const key = source && findKey(source, path.attribute);
      if (!source || !key || (!path.schema && ALWAYS.has(key))) continue;
      if (!path.subAttribute) {
        delete source[key];
        continue;
      }
      const value = source[key];
      const items = Array.isArray(value) ? value : [value];
      for (const item of items) {
        if (item && typeof item === 'object') {
          const sub = findKey(item as Json, path.subAttribute);
          if (sub) delete (item as Json)[sub];
        }
      }
    }
    return out;
  }
  return resource;
}
