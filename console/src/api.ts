/** The console's JSON API (/admin/api): the CSRF token goes with every change. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken = '';
let onSignedOut: () => void = () => undefined;

export function useSession(token: string, signedOut: () => void): void {
  csrfToken = token;
  onSignedOut = signedOut;
}

export async function api<T>(method: 'GET' | 'POST' | 'DELETE', path: string, given?: unknown): Promise<T> {
  // A change is always JSON (the server refuses anything else: a form of another site cannot send it).
  const body = method === 'POST' ? (given ?? {}) : given;
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (method !== 'GET') headers['X-CSRF-Token'] = csrfToken;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(`/admin/api${path}`, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return undefined as T;
  const data = (await response.json().catch(() => ({}))) as { error?: { code: string; message: string } };
  if (!response.ok) {
    const error = new ApiError(response.status, data.error?.code ?? 'unknown', data.error?.message ?? `the server answered ${response.status}`);
    if (response.status === 401 && path !== '/session') onSignedOut();
    throw error;
  }
  return data as T;
}

/** A query string from the values that are set. */
export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}
