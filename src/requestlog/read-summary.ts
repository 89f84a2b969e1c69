/**
 * The response of a successful read is not kept: it is the directory's own data, which
 * can be read again, and a sync reads far more than it writes (every page kept would
 * make the log mostly copies of users). What a person needs of it is kept instead: the
 * ids of the resources it returned and, for a list, `totalResults` (a lookup that found
 * nothing is how an identity provider decides to create).
 */
const MAX_READ_IDS = 100;
const RESOURCE_ID = /"id":"([^"]{1,64})"/g;
const TOTAL_RESULTS = /"totalResults":(\d+)/;

/**
 * What the route that answered a read knows of its response: the ids of the resources
 * it returned, in order, and for a list its totalResults. Handed over, the log need not
 * find them again in the response's text (a scan of every read's response, #14).
 */
export interface ReadResources {
  /** Made for this response: the log keeps the array itself (at most MAX_READ_IDS of it). */
  ids: string[];
  total?: number;
}

/**
 * What the log keeps of a successful read's response (its JSON text and its size in
 * bytes, as sent): a line saying what it held, and the ids. The ids and total come from
 * `known` when the route handed them over, else from the text.
 */
export function readSummary(text: string, bytes: number, known?: ReadResources): { summary: string; ids: string[] } {
  let ids: string[];
  let total: number | string | undefined;
  if (known) {
    ids = known.ids.length > MAX_READ_IDS ? known.ids.slice(0, MAX_READ_IDS) : known.ids;
    total = known.total;
  } else {
    ids = [];
    for (const match of text.matchAll(RESOURCE_ID)) {
      if (ids.length >= MAX_READ_IDS) break;
      ids.push(match[1] as string);
    }
    total = TOTAL_RESULTS.exec(text.slice(0, 400))?.[1];
  }
  const what = total !== undefined ? `totalResults ${total}, ${ids.length} resource(s) on the page` : `${ids.length} resource(s)`;
  return { summary: `[a successful read: not kept; ${what}, ${bytes} bytes]`, ids };
}
