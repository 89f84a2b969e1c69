import { adminCreate, adminDisable, adminList } from './admins';
import { json, text, type Command } from './command';
import { migrateCommand, settingsGet, settingsSet } from './instance';
import { groupRolesList, groupRolesRemove, groupRolesSet } from './group-roles';
import { keyList, keyRotate } from './keys';
import { receiverAdd, receiverList, receiverRemove } from './receivers';
import { orgCreate, orgLimits, orgList, orgShow } from './organizations';
import { audit, events, usersExport } from './reports';
import { requestShow, requests } from './requests';
import { tokenCreate, tokenList, tokenRevoke } from './tokens';

/** Every command of the CLI: its words, options and number of arguments, and what runs it. */
export const COMMANDS: Command[] = [
  { words: ['org', 'create'], options: { name: text }, positionals: 1, run: orgCreate },
  { words: ['org', 'list'], options: { json }, positionals: 0, run: orgList },
  {
    words: ['token', 'create'],
    options: { org: text, 'system-role': text, 'org-role': text, name: text, 'expires-in-days': text },
    positionals: 0,
    run: tokenCreate,
  },
  { words: ['token', 'list'], options: { org: text, json }, positionals: 0, run: tokenList },
  { words: ['token', 'revoke'], options: {}, positionals: 1, run: tokenRevoke },
  { words: ['settings', 'get'], options: { json }, positionals: 0, run: settingsGet },
  { words: ['settings', 'set'], options: {}, positionals: 2, run: settingsSet },
  {
    words: ['org', 'limits'],
    options: { standard: text, api: text, taxii: text, 'read-only': text, 'api-users': text },
    positionals: 1,
    run: orgLimits,
  },
  { words: ['org', 'show'], options: { json }, positionals: 1, run: orgShow },
  { words: ['users', 'export'], options: { org: text, format: text }, positionals: 0, run: usersExport },
  { words: ['audit'], options: { org: text, since: text, json }, positionals: 0, run: audit },
  { words: ['key', 'rotate'], options: { 'retire-after-days': text }, positionals: 0, run: keyRotate },
  { words: ['key', 'list'], options: { json }, positionals: 0, run: keyList },
  { words: ['events'], options: { org: text, since: text, limit: text, json }, positionals: 0, run: events },
  {
    words: ['receiver', 'add'],
    options: { org: text, url: text, audience: text, events: text, full: json },
    positionals: 0,
    run: receiverAdd,
  },
  { words: ['receiver', 'list'], options: { org: text, json }, positionals: 0, run: receiverList },
  { words: ['receiver', 'remove'], options: {}, positionals: 1, run: receiverRemove },
  // `requests show` before `requests`: the first command whose words match runs.
  { words: ['requests', 'show'], options: { org: text, json }, positionals: 1, run: requestShow },
  {
    words: ['requests'],
    options: { org: text, unauthenticated: json, since: text, status: text, client: text, limit: text, json },
    positionals: 0,
    run: requests,
  },
  { words: ['admin', 'create'], options: { org: text, 'system-role': text, 'org-role': text }, positionals: 1, run: adminCreate },
  { words: ['admin', 'list'], options: { json }, positionals: 0, run: adminList },
  { words: ['admin', 'disable'], options: {}, positionals: 1, run: adminDisable },
  { words: ['migrate'], options: {}, positionals: 0, noMigrate: true, run: migrateCommand },
  { words: ['group-roles', 'set'], options: { org: text, group: text, 'org-role': text, 'system-role': text }, positionals: 0, run: groupRolesSet },
  { words: ['group-roles', 'list'], options: { org: text, json }, positionals: 0, run: groupRolesList },
  { words: ['group-roles', 'remove'], options: { org: text, group: text }, positionals: 0, run: groupRolesRemove },
];
