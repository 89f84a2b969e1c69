import { api, ApiError } from '../api';
import { field, h } from '../dom';
import type { Session } from '../session';

/** The first-run setup link's form: the instance administrator's email and password (twice). */
export function setupPage(token: string, signedIn: (session: Session) => Promise<void>): HTMLElement {
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'new-password', required: true });
  const again = h('input', { type: 'password', name: 'again', autocomplete: 'new-password', required: true });
  const error = h('p', { role: 'alert', class: 'error' });
  const form = h(
    'form',
    {
      class: 'sign-in',
      'aria-labelledby': 'setup-title',
      onsubmit: async (event: Event) => {
        event.preventDefault();
        error.textContent = '';
        if (password.value !== again.value) {
          error.textContent = 'The two passwords differ.';
          again.focus();
          return;
        }
        try {
          const session = await api<Session>('POST', '/setup', { token, email: email.value, password: password.value });
          history.replaceState(null, '', location.pathname);
          await signedIn(session);
        } catch (failure) {
          error.textContent = failure instanceof ApiError ? failure.message : 'The setup did not go through; try again.';
        }
      },
    },
    h('h1', { id: 'setup-title' }, 'Create the instance administrator'),
    h('p', null, 'This account sees every organization. The password must meet the instance’s password policy. This link works once.'),
    field('Email', email),
    field('Password', password),
    field('Password again', again),
    h('button', { type: 'submit' }, 'Create and sign in'),
    error,
  );
  setTimeout(() => email.focus(), 0);
  return h('main', { id: 'main', class: 'narrow' }, form);
}
