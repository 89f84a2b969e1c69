import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import request from 'supertest';
import { createApp } from '../../src/app';
import { buildConsole, type BuiltConsole } from '../../tools/build-console';
import { startTestRoster, type TestRoster } from '../support/roster';

/** The console's pages as `npm run build` makes them and /admin/ serves them. */
let t: TestRoster;
let built: BuiltConsole;

beforeAll(async () => {
  built = await buildConsole(fs.mkdtempSync(path.join(os.tmpdir(), 'roster-console-')));
  t = await startTestRoster();
});
afterAll(async () => {
  await t.close();
  fs.rmSync(built.dir, { recursive: true, force: true });
});

const app = () => createApp(t.roster, pino({ level: 'silent' }), undefined, { consoleAssets: built.dir });

describe('the console pages', () => {
  it('loads under 200 KB of JavaScript, gzipped', () => {
    expect(built.scriptGzipBytes).toBeGreaterThan(1_000);
    expect(built.scriptGzipBytes).toBeLessThan(200 * 1024);
  });

  it('serves /admin/ with a content-security policy that allows no inline script or style and nothing from elsewhere', async () => {
    await request(app()).get('/admin').expect(301).expect('Location', '/admin/');
    const page = await request(app()).get('/admin/').expect(200).expect('Content-Type', /html/);
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toMatch(/https?:/);
    expect(page.headers['x-frame-options']).toBe('DENY');
    // Only this origin's files: no CDN, no inline script or style.
    const html = page.text;
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|style=/);
    const script = /src="\.\/([^"]+\.js)"/.exec(html)?.[1];
    const stylesheet = /href="\.\/([^"]+\.css)"/.exec(html)?.[1];
    expect([script, stylesheet]).toEqual([built.script, built.stylesheet]);
    const js = await request(app())
      .get(`/admin/${script}`)
      .expect(200)
      .expect('Content-Type', /javascript/);
    expect(js.headers['cache-control']).toContain('immutable');
    await request(app()).get(`/admin/${stylesheet}`).expect(200).expect('Content-Type', /css/);
  });

  it('says how to build the pages when they are missing', async () => {
    const missing = createApp(t.roster, pino({ level: 'silent' }), undefined, { consoleAssets: path.join(built.dir, 'nowhere') });
    const res = await request(missing).get('/admin/').expect(503);
    expect(res.text).toMatch(/npm run build/);
  });
});
