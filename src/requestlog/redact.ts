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

/** The characters of the base64, base64url, hex and JWT alphabets: where a token could be. */
const RUN_CHAR = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_=.~-') RUN_CHAR[c.charCodeAt(0)] = 1;
/** A run of RUN_CHAR shorter than this holds no token shape. */
const MIN_RUN = 32;

/** The token shapes inside a candidate run; a generic one (the last) must also mix upper case, lower case and digits. */
const TOKEN_IN_RUN =
  /roster_[A-Za-z0-9_-]{16,}|eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*|(?<![0-9a-fA-F])[0-9a-fA-F]{40,}(?![0-9a-fA-F])|(?<![A-Za-z0-9+/_=-])[A-Za-z0-9+/_=-]{32,}/g;
const BEARER = /\b[Bb]earer\s+[A-Za-z0-9._~+/=-]+/g;

/** A password key in JSON text, and its value (a string, or anything up to the next delimiter). */
const SECRET_IN_TEXT = /("(?:[^"\\]*(?:password|passwd)|[^"\\]*secret[^"\\]*)"\s*:\s*)("(?:[^"\\]|\\.)*"|[^,}\]\s]+)/gi;

const SURROGATE = /[\uD800-\uDFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** A long run that is a path with an id in it (`55555/scim/v2/Users/<uuid>`), not a token: tokens hold neither. */
const NOT_A_TOKEN =
  /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\/(?:scim|v2|Users|Groups|Bulk|Schemas|ResourceTypes|ServiceProviderConfig)(?:\/|$)/i;

function tokenInRun(match: string): string {
  if (match.startsWith('roster_') || match.startsWith('eyJ') || /^[0-9a-fA-F]+$/.test(match)) return REDACTED;
  return /[0-9]/.test(match) && /[a-z]/.test(match) && /[A-Z]/.test(match) ? REDACTED : match;
}

function redactRun(run: string): string {
  if (NOT_A_TOKEN.test(run) && !/roster_|eyJ/.test(run)) return run;
  return run.replace(TOKEN_IN_RUN, tokenInRun);
}

/**
 * Replaces token-shaped runs in any text, and with `byKey` the values of password keys
 * in JSON text (a request body that did not parse). A response Roster wrote never holds
 * a password (they are returned never): its text needs only the token pass.
 */
export function redactText(text: string, byKey = true): string {
  let out = byKey && /passw|secret/i.test(text) ? text.replace(SECRET_IN_TEXT, `$1"${REDACTED}"`) : text;
  if (out.includes('earer')) out = out.replace(BEARER, `Bearer ${REDACTED}`);
  return replaceRuns(out);
}

/**
 * Each run of 32 or more RUN_CHARs, through redactRun; the rest as it is. A loop over
 * character codes rather than a regular expression: this runs over every body the log
 * keeps, and most text has no such run at all.
 */
function replaceRuns(text: string): string {
  let out = '';
  let copied = 0;
  let start = -1;
  for (let i = 0; i <= text.length; i++) {
    const code = i < text.length ? text.charCodeAt(i) : 0;
    if (code < 128 && RUN_CHAR[code] === 1) {
      if (start < 0) start = i;
      continue;
    }
    if (start >= 0 && i - start >= MIN_RUN) {
      const run = text.slice(start, i);
      const replaced = redactRun(run);
      if (replaced !== run) {
        out += text.slice(copied, start) + replaced;
        copied = i;
      }
    }
    start = -1;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/** Text PostgreSQL can store in text and jsonb: no NUL, no lone surrogate. */
export function storable(text: string): string {
  const out = text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text;
  return SURROGATE.test(out) ? out.replace(LONE_SURROGATE, '\uFFFD') : out;
}

/** A copy of a parsed JSON value with secrets replaced (see the module comment), cut at MAX_DEPTH and MAX_NODES. */
export function redactValue(value: unknown): unknown {
  let nodes = 0;
  const walk = (v: unknown, depth: number): unknown => {
    nodes += 1;
    if (typeof v === 'string') return v.length < 32 ? v : redactText(v, false);
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
      const safeKey = key.length < 32 ? key : redactText(key, false);
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
 * redacted structurally and serialised; text is redacted as text, password keys
 * included unless Roster wrote it (`ours`: a response, which never holds a password).
 * Only the first `cap` bytes plus a margin of text are looked at: the rest would be
 * cut anyway.
 */
export function storedBody(body: { value?: unknown; text?: string; ours?: boolean }, cap = BODY_CAP_BYTES): string | null {
  if (body.value !== undefined) return storable(capped(JSON.stringify(redactValue(body.value)) ?? 'null', cap));
  const whole = body.text;
  if (whole === undefined || whole === '') return null;
  const margin = cap + 4096;
  if (whole.length <= margin) return storable(capped(redactText(whole, !body.ours), cap));
  const marker = `…[truncated: ${Buffer.byteLength(whole, 'utf8')} bytes in all]`;
  const kept = capped(redactText(whole.slice(0, margin), !body.ours), cap - Buffer.byteLength(marker, 'utf8'));
  return storable(kept.replace(/…\[truncated: \d+ bytes in all\]$/, '') + marker);
}
