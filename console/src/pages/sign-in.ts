import { api, ApiError } from '../api';
import { field, h } from '../dom';
import type { Session } from '../session';

/** The sign-in form: email and password; a refusal is read out (role=alert). */
export function signInPage(signedIn: (session: Session) => Promise<void>): HTMLElement {
  const email = h('input', { type: 'email', name: 'email', autocomplete: 'username', required: true, autofocus: true });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { role: 'alert', class: 'error', id: 'sign-in-error' });
  const submit = h('button', { type: 'submit' }, 'Sign in');
  const form = h(
    'form',
    {
      class: 'sign-in',
      'aria-labelledby': 'sign-in-title',
      onsubmit: async (event: Event) => {
        event.preventDefault();
        error.textContent = '';
        submit.setAttribute('disabled', '');
        try {
          await signedIn(await api<Session>('POST', '/session', { email: email.value, password: password.value }));
        } catch (failure) {
          error.textContent = failure instanceof ApiError ? failure.message : 'The sign-in did not go through; try again.';
          password.value = '';
          password.focus();
        } finally {
          submit.removeAttribute('disabled');
        }
      },
    },
    h('h1', { id: 'sign-in-title' }, 'Sign in to the Roster console'),
    field('Email', email),
    field('Password', password),
    submit,
    error,
  );
  setTimeout(() => email.focus(), 0);
  return h('main', { id: 'main', class: 'narrow' }, form);
}
