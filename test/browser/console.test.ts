/// <reference lib="dom" />
// The callbacks of page.evaluate run in the page: they see its document.
import type { BrowserContext, Page } from 'playwright-core';
import { createAdmin, PASSWORD } from '../support/console';
import { startConsoleServer, type ConsoleServer } from '../support/browser';
import { ROSTER, scimClient, userBody } from '../support/scim';

let s: ConsoleServer;
let context: BrowserContext;
let page: Page;
let secret: string;
const ids: Record<string, string> = {};

const scimAs = (token: string, path: string) => fetch(`${s.base}/scim/v2${path}`, { headers: { Authorization: `Bearer ${token}` } });

beforeAll(async () => {
  s = await startConsoleServer();
  const { t } = s;
  await createAdmin(t.roster, 'admin@acme.example', { org: 'acme' });
  await t.newOrganization('globex');
  await createAdmin(t.roster, 'admin@globex.example', { org: 'globex' });
  const scim = scimClient(t.app, (await t.roster.credentials.issue({ organizationId: t.org.id, systemRole: 'Administrator' })).secret);
  for (const [name, extra] of [
    ['ada.lovelace@acme.example', { displayName: 'Ada Lovelace' }],
    ['grace.hopper@acme.example', { displayName: 'Grace Hopper' }],
    [
      'the.boss@acme.example',
      {
        displayName: 'The Boss',
        schemas: [userBody('x').schemas[0], ROSTER],
        [ROSTER]: { systemRole: 'Administrator', organizationRole: 'Organization Administrator' },
      },
    ],
  ] as const) {
    const res = await scim.post('/Users', userBody(name, extra));
    if (res.status !== 201) throw new Error(JSON.stringify(res.body));
    ids[name] = res.body.id;
  }
  context = await s.browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();
  s.watch(page);
}, 120_000);

afterAll(async () => {
  await context?.close();
  await s?.close();
});

afterEach(() => {
  expect(s.errors.splice(0)).toEqual([]); // no script error, no CSP violation
});

describe('the console in Chromium', () => {
  it('signs in with the keyboard only', async () => {
    await page.goto(`${s.base}/admin/`);
    const email = page.getByLabel('Email');
    await expect(email.evaluate((el) => el === document.activeElement)).resolves.toBe(true);
    await page.keyboard.type('admin@acme.example');
    await page.keyboard.press('Tab');
    await page.keyboard.type('wrong password');
    await page.keyboard.press('Enter');
    await page.getByRole('alert').filter({ hasText: 'wrong email or password' }).waitFor();
    await s.screenshot(page, 'sign-in');
    await page.keyboard.type(PASSWORD); // the field is focused again, and emptied
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Connection', level: 1 }).waitFor();
    expect(page.url()).toMatch(/#\/acme\/connection$/);
  });

  it('creates a token, shows it once with a copy button, and the token works over SCIM', async () => {
    await page.getByLabel('Token name').fill('okta');
    await page.getByRole('button', { name: 'Create token' }).click();
    const shown = page.getByLabel('Token', { exact: true });
    await shown.waitFor();
    secret = await shown.inputValue();
    expect(secret).toMatch(/^roster_[A-Za-z0-9_-]{43}$/);
    await expect(page.getByRole('button', { name: 'Copy token' }).isVisible()).resolves.toBe(true);
    await expect(page.getByText('it is shown only this once').isVisible()).resolves.toBe(true);
    await s.screenshot(page, 'connection');
    expect((await scimAs(secret, '/Users')).status).toBe(200);
    await page.reload();
    await page.getByRole('heading', { name: 'Connection', level: 1 }).waitFor();
    expect(await page.content()).not.toContain(secret.slice(7));
    await expect(page.getByRole('row', { name: /okta/ }).textContent()).resolves.toMatch(/Active/);
  });

  it('follows the request log: a refused SCIM write appears by itself, and opens on its rule in words with no password', async () => {
    await page.getByRole('link', { name: 'Requests' }).click();
    await page.getByRole('heading', { name: 'Requests', level: 1 }).waitFor();
    await expect(page.getByRole('button', { name: 'Pause refreshing' }).getAttribute('aria-pressed')).resolves.toBe('false');
    const readOnly = await s.t.roster.credentials.issue({
      organizationId: s.t.org.id,
      systemRole: 'Api User',
      organizationRole: 'Read Only User',
      name: 'read-only-idp',
    });
    const password = 'Br0wser-Secret-Passw0rd!';
    const refused = await fetch(`${s.base}/scim/v2/Users`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${readOnly.secret}`, 'Content-Type': 'application/scim+json', 'User-Agent': 'Okta SCIM Client 1.0.0' },
      body: JSON.stringify(userBody('refused.write@acme.example', { password })),
    });
    expect(refused.status).toBe(403);
    // The log is written in batches about once a second, and the page asks every few seconds: the row comes by itself.
    const row = page.getByRole('row', { name: /read-only-idp/ });
    await row.waitFor({ timeout: 30_000 });
    await expect(row.textContent()).resolves.toMatch(/POST.*\/scim\/v2\/Users.*403.*Okta.*1\. who may manage users/);
    await page
      .getByRole('status')
      .filter({ hasText: /new request/ })
      .waitFor();
    await s.screenshot(page, 'requests');
    await page.getByLabel('Status').selectOption('403');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/requests\?status=403$/);
    await page.getByRole('row', { name: /read-only-idp/ }).waitFor();
    // Opened with the keyboard only.
    const open = row.getByRole('link');
    for (let i = 0; i < 40 && !(await open.evaluate((el) => el === document.activeElement)); i++) await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'POST /scim/v2/Users', level: 1 }).waitFor();
    ids.request = page.url().split('/requests/')[1];
    const facts = await page.locator('dl.facts').textContent();
    expect(facts).toMatch(/Refused byuser\.manage_forbidden \(rule 1\. who may manage users: .*Organization Administrator/);
    const sent = await page.getByLabel('Request body (secrets redacted)').textContent();
    expect(sent).toContain('refused.write@acme.example');
    expect(sent).toContain('[redacted]');
    expect(await page.content()).not.toContain(password);
    await s.screenshot(page, 'request');
  });

  it('finds a user by filter, opens them and disables them; SCIM then reads active false', async () => {
    await page.getByRole('link', { name: 'Users' }).click();
    await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
    await page.getByRole('table', { name: 'Users' }).waitFor();
    await s.screenshot(page, 'users');
    await page.getByLabel('Search').fill('lovelace');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText('1–1 of 1 users').waitFor();
    await page.getByRole('link', { name: 'ada.lovelace@acme.example' }).click();
    await page.getByRole('heading', { name: 'Ada Lovelace', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Disable' }).click();
    await page.getByRole('status').filter({ hasText: 'Disable: done' }).waitFor();
    await expect(page.locator('dl.facts').textContent()).resolves.toContain('Disabled');
    await expect(page.getByRole('table', { name: 'Audit trail' }).textContent()).resolves.toContain('admin admin@acme.example');
    await s.screenshot(page, 'user');
    const read = (await (await scimAs(secret, `/Users/${ids['ada.lovelace@acme.example']}`)).json()) as { active: boolean };
    expect(read.active).toBe(false);
  });

  it('takes an action with the keyboard only', async () => {
    await page.goto(`${s.base}/admin/#/acme/users/${ids['grace.hopper@acme.example']}`);
    await page.getByRole('heading', { name: 'Grace Hopper', level: 1 }).waitFor();
    const target = page.getByRole('button', { name: 'Require MFA reset' });
    for (let i = 0; i < 40 && !(await target.evaluate((el) => el === document.activeElement)); i++) await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'Require MFA reset: done' }).waitFor();
    await expect(page.locator('dl.facts').textContent()).resolves.toContain('MFA reset required');
  });

  it('shows the rule in words for an action the policy forbids, and refuses it', async () => {
    await page.goto(`${s.base}/admin/#/acme/users/${ids['the.boss@acme.example']}`);
    await page.getByRole('heading', { name: 'The Boss', level: 1 }).waitFor();
    const rule = 'an Organization Administrator with system role User cannot edit a user whose system role is Administrator (rule: no acting upward)';
    await expect(page.getByText(`Not allowed: ${rule}`).first().isVisible()).resolves.toBe(true);
    await page.getByRole('button', { name: 'Disable' }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: `Refused: ${rule}` })
      .waitFor();
    await s.screenshot(page, 'user-refused');
    expect(((await (await scimAs(secret, `/Users/${ids['the.boss@acme.example']}`)).json()) as { active: boolean }).active).toBe(true);
  });

  it('shows groups, the audit trail, the organization and the receivers', async () => {
    for (const [link, heading] of [
      ['Groups', 'Groups'],
      ['Audit', 'Audit'],
      ['Organization', 'Organization'],
      ['Receivers', 'Receivers and deliveries'],
    ]) {
      await page.getByRole('link', { name: link, exact: true }).click();
      await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
      await s.screenshot(page, link.toLowerCase());
    }
    await page.getByRole('link', { name: 'Audit', exact: true }).click();
    await expect(page.getByRole('table', { name: 'Audit trail' }).textContent()).resolves.toContain('user.deactivated');
  });

  it('revokes the token: SCIM then answers 401', async () => {
    await page.getByRole('link', { name: 'Connection' }).click();
    const revoke = page.getByRole('button', { name: 'Revoke token okta' });
    await revoke.click();
    await page.getByRole('status').filter({ hasText: 'Press again' }).waitFor();
    await revoke.click();
    await page.getByRole('status').filter({ hasText: 'Token okta revoked' }).waitFor();
    expect((await scimAs(secret, '/Users')).status).toBe(401);
  });

  it('lays every page out at a phone’s width (390 px) with nothing overflowing sideways', async () => {
    const phone = await context.newPage();
    s.watch(phone);
    await phone.setViewportSize({ width: 390, height: 844 });
    for (const path of [
      'connection',
      'requests',
      `requests/${ids.request}`,
      'users',
      `users/${ids['the.boss@acme.example']}`,
      'groups',
      'audit',
      'organization',
      'receivers',
    ]) {
      await phone.goto(`${s.base}/admin/#/acme/${path}`);
      await phone.locator('main h1').waitFor();
      await phone.waitForLoadState('networkidle');
      const { scroll, width } = await phone.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: document.documentElement.clientWidth }));
      expect({ path, scroll }).toEqual({ path, scroll: width });
      if (/^(users|requests)/.test(path)) await s.screenshot(phone, `phone-${path.split('/')[0]}${path.includes('/') ? '-one' : ''}`);
    }
    await phone.close();
  });

  it('an organization administrator cannot reach another organization', async () => {
    const other = await s.browser.newContext({ viewport: { width: 1280, height: 800 } });
    const globex = await other.newPage();
    s.watch(globex);
    await globex.goto(`${s.base}/admin/`);
    await globex.getByLabel('Email').fill('admin@globex.example');
    await globex.getByLabel('Password').fill(PASSWORD);
    await globex.getByRole('button', { name: 'Sign in' }).click();
    await globex.getByRole('heading', { name: 'Connection', level: 1 }).waitFor();
    await expect(globex.getByLabel('Organization').locator('option').allTextContents()).resolves.toEqual(['globex']);
    await globex.goto(`${s.base}/admin/#/acme/users/${ids['grace.hopper@acme.example']}`);
    await globex.waitForURL(/#\/globex\//);
    const answers = await globex.evaluate(async (id) => {
      const statuses: number[] = [];
      for (const path of ['/orgs/acme/users', `/orgs/acme/users/${id}`, `/orgs/globex/users/${id}`]) statuses.push((await fetch(`/admin/api${path}`)).status);
      return statuses;
    }, ids['grace.hopper@acme.example']);
    expect(answers).toEqual([404, 404, 404]);
    await other.close();
  });
});
