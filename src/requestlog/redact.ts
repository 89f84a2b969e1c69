/**
 * What the request log stores of a body: redacted, then capped.
 *
 * Redacted, at any depth:
 * - the value of every key that ends in `password` or names a secret (`password`,
 *   `Password`, `newPassword`, `client_secret`; any letter case; `passwordResetRequired`
 *   is a flag and stays) and of keys named `token`,
 *   `access_token`, `refresh_token`, `id_token`, `api_key`;
 * - the `value` of a PATCH operation whose `path` names a password (`{"op": "replace",
 *   "path": "password", "value": ...}`);
 * - anything shaped like a token, wherever it appears (a value, a key, a filter, text
 *   that is not JSON): Roster's provisioning tokens (`roster_...`), `Bearer ...`,
 *   JWTs (`eyJ...x.y`), and long high-entropy runs: 32 or more characters of the
 *   base64/base64url alphabet mixing upper case, lower case and digits, or 40 or more
 *   hexadecimal digits. UUIDs (hex in groups with hyphens) are ids and stay, and so
 *   does a run with a UUID or a SCIM path in it (`/scim/v2/Users/<id>`): a path.
 *
 * Then capped at 64 KB (UTF-8) with a marker saying how long the whole was. Text that
 * PostgreSQL cannot store (NUL, lone UTF-16 surrogates) is replaced with U+FFFD.
 */

export const BODY_CAP_BYTES = 64 * 1024;
export const REDACTED = '[redacted]';

/** Nested deeper than this, a body's content is not walked (it was refused anyway: the SCIM layer takes 32 levels). */
const MAX_DEPTH = 40;
/** Values walked in one body at most: a huge array is cut here, well past what 64 KB can show. */
const MAX_NODES = 20_000;

const SECRET_KEY = /(?:password|passwd)$|secret|^(?:token|access_?token|refresh_?token|id_?token|api_?key|authorization)$/i;

/**
 * The token shapes, one pass. Order matters: a Bearer credential and a provisioning token
 * are replaced whole before the generic shapes look at what is left.
 */
const TOKEN_SHAPES =
  /\bBearer\s+[A-Za-z0-9._~+/=-]+|roster_[A-Za-z0-9_-]{16,}|eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*|(?<![A-Za-z0-9+/_=-])(?=[A-Za-z0-9+/_=-]*[0-9])(?=[A-Za-z0-9+/_=-]*[a-z])(?=[A-Za-z0-9+/_=-]*[A-Z])[A-Za-z0-9+/_=-]{32,}|\b[0-9a-fA-F]{40,}\b/g;

/** A password key in JSON text, and its value (a string, or anything up to the next delimiter). */
const SECRET_IN_TEXT = /("(?:[^"\\]*(?:password|passwd)|[^"\\]*secret[^"\\]*)"\s*:\s*)("(?:[^"\\]|\\.)*"|[^,}\]\s]+)/gi;

const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** A long run that is a path with an id in it (`55555/scim/v2/Users/<uuid>`), not a token: tokens hold neither. */
const NOT_A_TOKEN =
  /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\/(?:scim|v2|Users|Groups|Bulk|Schemas|ResourceTypes|ServiceProviderConfig)(?:\/|$)/i;

function replaceToken(match: string): string {
  if (/^Bearer\s/i.test(match)) return `Bearer ${REDACTED}`;
  if (!match.startsWith('roster_') && !match.startsWith('eyJ') && NOT_A_TOKEN.test(match)) return match;
  return REDACTED;
}

/** Replaces token-shaped runs (and JSON password values) in any text. */
export function redactText(text: string): string {
  return text.replace(SECRET_IN_TEXT, `$1"${REDACTED}"`).replace(TOKEN_SHAPES, replaceToken);
}

/** Text PostgreSQL can store in text and jsonb: no NUL, no lone surrogate. */
export function storable(text: string): string {
  return text.replace(UNSTORABLE, '\uFFFD');
}

/** A copy of a parsed JSON value with secrets replaced (see the module comment), cut at MAX_DEPTH and MAX_NODES. */
export function redactValue(value: unknown): unknown {
  let nodes = 0;
  const walk = (v: unknown, depth: number): unknown => {
    nodes += 1;
    if (typeof v === 'string') return redactText(v);
    if (v === null || typeof v !== 'object') return v;
    if (depth >= MAX_DEPTH) return '[nested too deep]';
    if (Array.isArray(v)) {
      const out: unknown[] = [];
      for (let i = 0; i < v.length; i++) {
        if (nodes >= MAX_NODES) {
          out.push(`[${v.length - i} more items]`);
          break;
        }
        out.push(walk(v[i], depth + 1));
      }
      return out;
    }
    const object = v as Record<string, unknown>;
    const secretValue = typeof object.path === 'string' && /password/i.test(object.path);
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(object)) {
      if (nodes >= MAX_NODES) {
        out['[cut]'] = 'more attributes';
        break;
      }
      const safeKey = redactText(key);
      if (SECRET_KEY.test(key) || (secretValue && key.toLowerCase() === 'value')) {
        nodes += 1;
        out[safeKey] = REDACTED;
      } else {
        out[safeKey] = walk(object[key], depth + 1);
      }
    }
    return out;
  };
  return walk(value, 0);
}

/** Text capped at `cap` bytes of UTF-8, with a marker naming the whole length when cut. */
export function capped(text: string, cap = BODY_CAP_BYTES): string {
  // A character is at most 3 bytes of UTF-8 per UTF-16 unit: short text needs no counting.
  if (text.length * 3 <= cap) return text;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes <= cap) return text;
  const marker = `…[truncated: ${bytes} bytes in all]`;
  const kept = Buffer.from(text, 'utf8')
    .subarray(0, cap - Buffer.byteLength(marker, 'utf8') - 3)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
  return kept + marker;
}

/**
 * A request or response body as the log stores it, or null for none: a parsed value is
 * redacted structurally and serialised; text (a body that is not JSON, or a response
 * as sent) is redacted as text. Only the first `cap` bytes plus a margin of text are
 * looked at: the rest would be cut anyway.
 */
export function storedBody(body: { value?: unknown; text?: string }, cap = BODY_CAP_BYTES): string | null {
  let text: string;
  if (body.value !== undefined) {
    text = redactText(JSON.stringify(redactValue(body.value)) ?? 'null');
  } else if (body.text !== undefined && body.text !== '') {
    const whole = body.text;
    const margin = cap + 4096;
    text = redactText(whole.length > margin ? whole.slice(0, margin) : whole);
    if (whole.length > margin)
      return storable(capped(text, cap)).replace(/\[truncated: \d+ bytes in all\]$/, `[truncated: ${Buffer.byteLength(whole, 'utf8')} bytes in all]`);
  } else {
    return null;
  }
  return storable(capped(text, cap));
}
