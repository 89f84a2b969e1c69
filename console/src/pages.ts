import { auditPage } from './pages/audit';
import { connectionPage } from './pages/connection';
import { groupsPage } from './pages/groups';
import { organizationPage } from './pages/organization';
import { receiversPage } from './pages/receivers';
import { requestsPage } from './pages/requests';
import { usersPage } from './pages/users';
import type { PageContext } from './session';

export interface Page {
  path: string;
  title: string;
  render(main: HTMLElement, context: PageContext): Promise<void>;
}

/** The console's pages, in the navigation's order. */
export const PAGES: Page[] = [
  { path: 'connection', title: 'Connection', render: connectionPage },
  { path: 'requests', title: 'Requests', render: requestsPage },
  { path: 'users', title: 'Users', render: usersPage },
  { path: 'groups', title: 'Groups', render: groupsPage },
  { path: 'audit', title: 'Audit', render: auditPage },
  { path: 'organization', title: 'Organization', render: organizationPage },
  { path: 'receivers', title: 'Receivers', render: receiversPage },
];
