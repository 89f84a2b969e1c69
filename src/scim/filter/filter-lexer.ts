/**
 * Tokens of a SCIM filter (RFC 7644 section 3.4.2.2). The lexer only cuts the text
 * into pieces; whether a word is an attribute path, an operator or a keyword is
 * decided by the parser from its position. Positions are 1-based character offsets,
 * used in error messages ("at position 12").
 */
import { invalidFilter } from '../../domain/errors';

export type Token =
  | { type: '(' | ')' | '[' | ']' | 'end'; pos: number }
  /** An attribute path, an operator or a keyword (`and`, `or`, `not`, `pr`, `true`...). */
  | { type: 'word'; text: string; pos: number }
  | { type: 'string'; value: string; pos: number }
  | { type: 'number'; value: number; text: string; pos: number };

/** Characters of a word: attribute names, URNs (`urn:...:2.0:User:x`), `.sub`, `$ref`. */
const WORD_CHAR = /[A-Za-z0-9_\-:.$]/;
const WORD_START = /[A-Za-z_.$]/;
/** JSON number (RFC 8259 section 6), anchored at the lexer's position. */
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const SPACE = /\s/;

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    const pos = i + 1;
    if (SPACE.test(c)) {
      i++;
    } else if (c === '(' || c === ')' || c === '[' || c === ']') {
      tokens.push({ type: c, pos });
      i++;
    } else if (c === '"') {
      const end = stringEnd(text, i);
      tokens.push({ type: 'string', value: decodeString(text.slice(i, end), pos), pos });
      i = end;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      NUMBER.lastIndex = i;
      const match = NUMBER.exec(text);
      const end = match ? i + match[0].length : i;
      if (!match || (end < text.length && WORD_CHAR.test(text[end]))) {
        throw invalidFilter(`invalid number '${wordAt(text, i)}' at position ${pos}`, 'filter.number_invalid');
      }
      const value = Number(match[0]);
      if (!Number.isFinite(value)) throw invalidFilter(`the number ${match[0]} at position ${pos} is out of range`, 'filter.number_out_of_range');
      tokens.push({ type: 'number', value, text: match[0], pos });
      i = end;
    } else if (WORD_START.test(c)) {
      const word = wordAt(text, i);
      tokens.push({ type: 'word', text: word, pos });
      i += word.length;
    } else {
      throw invalidFilter(`unexpected character '${c}' at position ${pos}`, 'filter.character_unexpected');
    }
  }
  tokens.push({ type: 'end', pos: text.length + 1 });
  return tokens;
}

function wordAt(text: string, start: number): string {
  let end = start + 1;
  while (end < text.length && WORD_CHAR.test(text[end])) end++;
  return text.slice(start, end);
}

/** Index just after the closing quote of the string opening at `start`. */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i + 1;
  }
  throw invalidFilter(`unterminated string starting at position ${start + 1}`, 'filter.string_unterminated');
}

/**
 * Strings are JSON strings: `\"`, `\\`, `\/`, `\n`, `\u00e9`... and nothing else. What
 * they decode to must be text an attribute can hold: no NUL (`\u0000`, which
 * PostgreSQL text cannot store) and no lone surrogate (`\ud800`, which is not Unicode).
 */
function decodeString(literal: string, pos: number): string {
  let value: string;
  try {
    value = JSON.parse(literal) as string;
  } catch {
    throw invalidFilter(`invalid string ${literal} at position ${pos} (bad escape or control character)`, 'filter.string_invalid');
  }
  if (value.includes('\u0000')) throw invalidFilter(`the string at position ${pos} holds a NUL character (\\u0000)`, 'filter.string_nul');
  if (!(value as string & { isWellFormed(): boolean }).isWellFormed()) {
    throw invalidFilter(`the string at position ${pos} is not valid Unicode: it holds a lone surrogate`, 'filter.string_lone_surrogate');
  }
  return value;
}

/** How a token reads in an error message. */
export function describe(token: Token): string {
  switch (token.type) {
    case 'end':
      return 'the end of the filter';
    case 'word':
      return `'${token.text}'`;
    case 'string':
      return `the string ${JSON.stringify(token.value)}`;
    case 'number':
      return `the number ${token.text}`;
    default:
      return `'${token.type}'`;
  }
}
