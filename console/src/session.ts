export interface Session {
  admin: { email: string; systemRole: string; organizationRole: string; instance: boolean };
  csrfToken: string;
  organizations: { slug: string; name: string }[];
}

/** Where the page is: `#/<org>/<page>/<id>?<params>`. */
export interface Route {
  org: string;
  page: string;
  id?: string;
  params: URLSearchParams;
}

export function currentRoute(): Route {
  const [path, search = ''] = location.hash.replace(/^#\/?/, '').split('?');
  const [org = '', page = '', id] = path.split('/').map(decodeURIComponent);
  return { org, page, id, params: new URLSearchParams(search) };
}

export function href(org: string, page: string, id?: string, params?: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) if (v !== undefined && v !== '') search.set(k, String(v));
  const text = search.toString();
  return `#/${encodeURIComponent(org)}/${page}${id ? `/${encodeURIComponent(id)}` : ''}${text ? `?${text}` : ''}`;
}

/** Everything a page needs: where it is, who is signed in, and how to say something. */
export interface PageContext {
  route: Route;
  session: Session;
  announce(message: string): void;
}
