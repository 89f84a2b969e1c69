import { api, ApiError, useSession } from './api';
import { h, replace } from './dom';
import { PAGES } from './pages';
import { newOrganizationForm } from './pages/new-organization';
import { setupPage } from './pages/setup';
import { signInPage } from './pages/sign-in';
import { currentRoute, href, type Session } from './session';

const root = document.getElementById('app') as HTMLElement;
let session: Session | undefined;

/** Says something to screen readers (and shows it) without moving focus. */
function announce(message: string): void {
  const status = document.getElementById('status');
  if (status) status.textContent = message;
}

function signedOut(): void {
  session = undefined;
  render();
}

async function signOut(): Promise<void> {
  await api('DELETE', '/session').catch(() => undefined);
  location.hash = '';
  signedOut();
}

function shell(current: Session, org: string, page: string): { main: HTMLElement } {
  const orgSelect = h(
    'select',
    { id: 'org-select', onchange: (e: Event) => (location.hash = href((e.target as HTMLSelectElement).value, page || 'users')) },
    ...current.organizations.map((o) => h('option', { value: o.slug, selected: o.slug === org }, o.name === o.slug ? o.slug : `${o.name} (${o.slug})`)),
  );
  const main = h('main', { id: 'main', tabindex: '-1' });
  replace(
    root,
    h('a', { class: 'skip', href: '#main', onclick: (e: Event) => (e.preventDefault(), main.focus()) }, 'Skip to content'),
    h(
      'header',
      { class: 'top' },
      h('span', { class: 'brand' }, 'Roster console'),
      h('div', { class: 'org' }, h('label', { for: 'org-select' }, 'Organization'), orgSelect),
      h('span', { class: 'who' }, current.admin.email),
      h('button', { type: 'button', class: 'secondary', onclick: () => void signOut() }, 'Sign out'),
    ),
    h(
      'nav',
      { 'aria-label': 'Console pages' },
      h('ul', null, ...PAGES.map((p) => h('li', null, h('a', { href: href(org, p.path), 'aria-current': p.path === page ? 'page' : null }, p.title)))),
    ),
    main,
    h('p', { id: 'status', role: 'status', 'aria-live': 'polite', class: 'status' }),
  );
  return { main };
}

async function render(): Promise<void> {
  if (!session) {
    try {
      session = await api<Session>('GET', '/session');
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
      const enter = async (signedIn: Session) => {
        session = signedIn;
        useSession(signedIn.csrfToken, signedOut);
        if (!location.hash) location.hash = href(signedIn.organizations[0]?.slug ?? '', 'connection');
        await render();
      };
      // The first-run setup link (`/admin/#setup=<token>`, which the server logs while no administrator exists).
      const setup = /^#setup=([A-Za-z0-9_-]+)$/.exec(location.hash);
      replace(root, setup ? setupPage(setup[1], enter) : signInPage(enter));
      return;
    }
    useSession(session.csrfToken, signedOut);
  }
  if (location.hash.startsWith('#setup=')) history.replaceState(null, '', location.pathname);
  const route = currentRoute();
  const org = session.organizations.find((o) => o.slug === route.org)?.slug ?? session.organizations[0]?.slug;
  if (!org) {
    const { admin } = session;
    replace(
      root,
      h(
        'main',
        { id: 'main' },
        h('h1', null, 'No organization yet'),
        h('p', null, 'Users, groups and tokens belong to an organization (a tenant). Create the first one.'),
        admin.instance ? newOrganizationForm((slug) => reloadSession(slug)) : h('p', null, 'Ask an instance administrator to create one.'),
      ),
    );
    return;
  }
  const page = PAGES.find((p) => p.path === route.page);
  if (!page || org !== route.org) {
    location.replace(href(org, page?.path ?? 'connection'));
    return;
  }
  const { main } = shell(session, org, page.path);
  document.title = `${page.title} · Roster console`;
  await page.render(main, { route: { ...route, org }, session, announce });
  // Another page (not the same one with other filters): focus moves to its heading, which a screen reader reads out.
  const where = `${org}/${page.path}/${route.id ?? ''}`;
  if (shown !== undefined && shown !== where) {
    const heading = main.querySelector('h1');
    heading?.setAttribute('tabindex', '-1');
    heading?.focus();
  }
  shown = where;
}

/** The page last shown (organization, page, id). */
let shown: string | undefined;

/** Reads the session again (a new organization), then shows that organization's Connection page. */
function reloadSession(slug: string): void {
  session = undefined;
  const target = href(slug, 'connection');
  if (location.hash === target) void render().catch(showFailure);
  else location.hash = target;
}

window.addEventListener('hashchange', () => void render().catch(showFailure));
void render().catch(showFailure);

function showFailure(error: unknown): void {
  const main = document.getElementById('main') ?? root;
  main.append(h('p', { role: 'alert', class: 'error' }, error instanceof Error ? error.message : String(error)));
}
