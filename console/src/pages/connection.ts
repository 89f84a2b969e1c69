import { api } from '../api';
import { badge, field, h, replace, table, when } from '../dom';
import type { PageContext } from '../session';
import { providerGuides } from './guides';

interface Token {
  id: string;
  name: string;
  systemRole: string;
  organizationRole: string;
  createdAt: string;
  lastUsedAt: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
}
interface Connection {
  organization: { slug: string; name: string };
  scimBaseUrl: string;
  tokens: Token[];
}

/** Copies text, and says so; where the clipboard is refused, selects it for Ctrl+C. */
async function copy(text: string, input: HTMLInputElement, context: PageContext, what: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    context.announce(`${what} copied to the clipboard.`);
  } catch {
    input.focus();
    input.select();
    context.announce(`${what} selected: press Ctrl+C (or ⌘C) to copy it.`);
  }
}

function copyable(label: string, value: string, context: PageContext, id: string, copyLabel = `Copy ${label.toLowerCase()}`): HTMLElement {
  const input = h('input', { type: 'text', readonly: true, value, id, class: 'mono' });
  return h(
    'div',
    { class: 'copyable' },
    field(label, input),
    h('button', { type: 'button', class: 'secondary', onclick: () => void copy(value, input, context, label) }, copyLabel),
  );
}

function status(token: Token): HTMLElement {
  if (token.revokedAt) return badge(`Revoked ${when(token.revokedAt)}`, 'bad');
  if (token.expiresAt && new Date(token.expiresAt) < new Date()) return badge('Expired', 'bad');
  return badge('Active', 'good');
}

/** The tokens table, with a two-step Revoke on each live token; `refresh` reads the list again. */
function tokenTable(org: string, context: PageContext, error: HTMLElement) {
  const element = h('div');
  const revokeButton = (token: Token) => {
    let armed = false;
    const button: HTMLButtonElement = h(
      'button',
      {
        type: 'button',
        class: 'danger',
        'aria-label': `Revoke token ${token.name}`,
        onclick: async () => {
          if (!armed) {
            armed = true;
            button.textContent = 'Confirm revoke';
            context.announce(`Press again to revoke ${token.name}: identity providers using it stop at once.`);
            return;
          }
          try {
            await api('POST', `/orgs/${org}/tokens/${token.id}/revoke`);
            context.announce(`Token ${token.name} revoked.`);
            await refresh();
          } catch (failure) {
            error.textContent = (failure as Error).message;
          }
        },
      },
      'Revoke',
    );
    return button;
  };
  const draw = (list: Token[]) =>
    replace(
      element,
      table(
        'Provisioning tokens',
        ['Name', 'Roles', 'Created', 'Last used', 'Expires', 'Status', 'Actions'],
        list.map((t) => [
          t.name,
          `${t.systemRole} · ${t.organizationRole}`,
          when(t.createdAt),
          when(t.lastUsedAt),
          when(t.expiresAt),
          status(t),
          t.revokedAt ? '' : revokeButton(t),
        ]),
        'No tokens yet: create one below.',
      ),
    );
  async function refresh(): Promise<void> {
    draw((await api<Connection>('GET', `/orgs/${org}/connection`)).tokens);
  }
  return { element, draw, refresh };
}

/** The Create a token form; the new token's secret is shown once, in `created`, with a copy button. */
function createTokenForm(org: string, context: PageContext, error: HTMLElement, created: HTMLElement, refresh: () => Promise<void>): HTMLElement {
  const name = h('input', { type: 'text', name: 'name', value: 'okta', maxlength: 100, required: true });
  return h(
    'form',
    {
      'aria-labelledby': 'create-token-title',
      onsubmit: async (event: Event) => {
        event.preventDefault();
        error.textContent = '';
        try {
          const result = await api<{ token: Token; secret: string }>('POST', `/orgs/${org}/tokens`, { name: name.value });
          replace(
            created,
            h(
              'section',
              { class: 'secret', 'aria-labelledby': 'secret-title' },
              h('h3', { id: 'secret-title' }, `Token “${result.token.name}” created`),
              h('p', null, h('strong', null, 'Copy it now: it is shown only this once.'), ' Roster keeps only its hash.'),
              copyable('Token', result.secret, context, 'token-secret'),
            ),
          );
          context.announce('Token created. Copy it now: it is shown only once.');
          (document.getElementById('token-secret') as HTMLInputElement | null)?.focus();
          await refresh();
        } catch (failure) {
          error.textContent = (failure as Error).message;
        }
      },
    },
    h('h3', { id: 'create-token-title' }, 'Create a token'),
    field('Token name', name, 'A name to tell tokens apart, such as okta or entra.'),
    h('button', { type: 'submit' }, 'Create token'),
  );
}

/** Connection: the SCIM base URL, the provisioning tokens, and the identity providers' settings. */
export async function connectionPage(main: HTMLElement, context: PageContext): Promise<void> {
  const org = context.route.org;
  const data = await api<Connection>('GET', `/orgs/${org}/connection`);
  const created = h('div', { id: 'new-token' });
  const error = h('p', { role: 'alert', class: 'error' });
  const tokens = tokenTable(org, context, error);
  tokens.draw(data.tokens);
  replace(
    main,
    h('h1', null, 'Connection'),
    h('p', null, `Connect an identity provider to organization ${data.organization.name}: give it the SCIM base URL and a token.`),
    h(
      'section',
      { 'aria-labelledby': 'base-url-title' },
      h('h2', { id: 'base-url-title' }, 'SCIM base URL'),
      copyable('Base URL', data.scimBaseUrl, context, 'base-url', 'Copy base URL'),
    ),
    h(
      'section',
      { 'aria-labelledby': 'tokens-title' },
      h('h2', { id: 'tokens-title' }, 'Provisioning tokens'),
      tokens.element,
      createTokenForm(org, context, error, created, tokens.refresh),
      error,
      created,
    ),
    providerGuides(data.scimBaseUrl),
  );
}
