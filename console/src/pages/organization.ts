import { api } from '../api';
import { badge, h, replace, table, when } from '../dom';
import { href, type PageContext } from '../session';
import { newOrganizationForm } from './new-organization';

interface Usage {
  organization: { slug: string; name: string; createdAt: string };
  license: {
    standardUserLimit: number | null;
    apiUserLimit: number | null;
    taxiiUserLimit: number | null;
    readOnlyUserLimit: number | null;
    apiUsersAllowed: boolean;
    readOnlyUsersFree: boolean;
  };
  counts: { standard: number; api: number; taxii: number; readOnly: number };
}

/** Organization: the license's limits and how much of each is used. */
export async function organizationPage(main: HTMLElement, context: PageContext): Promise<void> {
  const { organization, license, counts } = await api<Usage>('GET', `/orgs/${context.route.org}/organization`);
  const row = (type: string, limit: number | null, used: number, note?: string) => {
    const left = limit === null ? null : limit - used;
    return [
      type,
      used.toLocaleString('en-US'),
      note ?? (limit === null ? 'Unlimited' : limit.toLocaleString('en-US')),
      note ? '—' : left === null ? '—' : left <= 0 ? badge('Full', 'bad') : left.toLocaleString('en-US'),
    ];
  };
  replace(
    main,
    h('h1', null, 'Organization'),
    h(
      'dl',
      { class: 'facts' },
      h('dt', null, 'Name'),
      h('dd', null, organization.name),
      h('dt', null, 'Slug'),
      h('dd', null, organization.slug),
      h('dt', null, 'Created'),
      h('dd', null, when(organization.createdAt)),
    ),
    h('h2', null, 'Licensed users by account type'),
    table(
      'Limits and usage',
      ['Account type', 'Users', 'Limit', 'Left'],
      [
        row('Standard', license.standardUserLimit, counts.standard),
        row('API', license.apiUserLimit, counts.api, license.apiUsersAllowed ? undefined : 'Not licensed'),
        row('TAXII', license.taxiiUserLimit, counts.taxii),
        row('Read-only', license.readOnlyUserLimit, counts.readOnly, license.readOnlyUsersFree ? 'Free (not counted)' : undefined),
      ],
    ),
    h('p', { class: 'hint' }, 'Disabled users count. An operator changes limits with ', h('code', null, `roster org limits ${organization.slug}`), '.'),
    context.session.admin.instance
      ? newOrganizationForm((slug) => {
          location.hash = href(slug, 'connection');
          location.reload();
        })
      : null,
  );
}
