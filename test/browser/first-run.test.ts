/// <reference lib="dom" />
import { startConsoleServer, type ConsoleServer } from '../support/browser';
import { userBody } from '../support/scim';

/**
 * Issue #17's "done": from the setup link the server logs, an administrator who has
 * never seen Roster creates the instance administrator, an organization and a token,
 * and an identity provider provisions with that token; all in the console.
 */
let s: ConsoleServer;
beforeAll(async () => {
  s = await startConsoleServer();
}, 120_000);
afterAll(() => s?.close());

it('sets up the console from the first-run link and connects an identity provider', async () => {
  const token = await s.t.roster.consoleAdmins.openSetup();
  const context = await s.browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  s.watch(page);
  await page.goto(`${s.base}/admin/#setup=${token}`);
  await page.getByRole('heading', { name: 'Create the instance administrator' }).waitFor();
  await page.getByLabel('Email').fill('first@example.com');
  await page.getByLabel('Password', { exact: true }).fill('First-Run-Password-1');
  await page.getByLabel('Password again').fill('First-Run-Password-1');
  await s.screenshot(page, 'setup');
  await page.getByRole('button', { name: 'Create and sign in' }).click();
  await page.getByRole('heading', { name: 'Connection', level: 1 }).waitFor();
  expect(page.url()).not.toContain('setup=');

  await page.getByRole('link', { name: 'Organization', exact: true }).click();
  await page.getByLabel('Slug').fill('initech');
  await page.getByLabel('Name', { exact: true }).fill('Initech');
  await page.getByRole('button', { name: 'Create organization' }).click();
  await page.waitForURL(/#\/initech\/connection$/);
  await page.getByRole('heading', { name: 'Connection', level: 1 }).waitFor();
  await expect(page.getByLabel('Organization').inputValue()).resolves.toBe('initech');

  await page.getByLabel('Token name').fill('okta');
  await page.getByRole('button', { name: 'Create token' }).click();
  const secret = await page.getByLabel('Token', { exact: true }).inputValue();
  const baseUrl = await page.getByRole('textbox', { name: 'Base URL' }).inputValue();
  expect(baseUrl).toBe(`${s.base}/scim/v2`);
  const created = await fetch(`${baseUrl}/Users`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${secret}`, 'Content-Type': 'application/scim+json' },
    body: JSON.stringify(userBody('new.hire@initech.example')),
  });
  expect(created.status).toBe(201);

  await page.getByRole('link', { name: 'Users' }).click();
  await page.getByRole('link', { name: 'new.hire@initech.example' }).waitFor();
  expect(s.errors.splice(0)).toEqual([]);
  await context.close();
});
