import { auditPage } from './pages/audit';
import { connectionPage } from './pages/connection';
import { groupsPage } from './pages/groups';
import { organizationPage } from './pages/organization';
import { receiversPage } from './pages/receivers';
import { usersPage } from './pages/users';
import type { PageContext } from './session';

export interface Page {
  path: string;
  title: string;
  render(main: HTMLElement, context: PageContext): Promise<void>;
}

/**
 * The console's pages, in the navigation's order. The Requests page (the request log
 * of issue #14) takes its place after Connection once that log exists.
 */
export const PAGES: Page[] = [
  { path: 'connection', title: 'Connection', render: connectionPage },
  { path: 'users', title: 'Users', render: usersPage },
  { path: 'groups', title: 'Groups', render: groupsPage },
  { path: 'audit', title: 'Audit', render: auditPage },
  { path: 'organization', title: 'Organization', render: organizationPage },
  { path: 'receivers', title: 'Receivers', render: receiversPage },
];
