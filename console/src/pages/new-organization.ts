import { api } from '../api';
import { field, h } from '../dom';

/** An instance administrator's form for a new organization (tenant): its slug and name. */
export function newOrganizationForm(created: (slug: string) => void): HTMLElement {
  const slug = h('input', { type: 'text', name: 'slug', required: true, pattern: '[a-z0-9]([a-z0-9\\-]{0,62}[a-z0-9])?', maxlength: 64 });
  const name = h('input', { type: 'text', name: 'name', maxlength: 200 });
  const error = h('p', { role: 'alert', class: 'error' });
  return h(
    'form',
    {
      class: 'roles',
      'aria-labelledby': 'new-org-title',
      onsubmit: async (event: Event) => {
        event.preventDefault();
        error.textContent = '';
        try {
          const result = await api<{ organization: { slug: string } }>('POST', '/orgs', { slug: slug.value, name: name.value || undefined });
          created(result.organization.slug);
        } catch (failure) {
          error.textContent = (failure as Error).message;
        }
      },
    },
    h('h2', { id: 'new-org-title' }, 'New organization'),
    field('Slug', slug, 'Lowercase letters, digits and inner hyphens, e.g. acme'),
    field('Name', name),
    h('button', { type: 'submit' }, 'Create organization'),
    error,
  );
}
