import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { startServer as listen } from '../../src/app';
import { loadConfig } from '../../src/config';
import { processDatabase, startServer, stopServer, type ProcessDatabase } from '../support/processes';

/** The Keep-Alive header a server sends on a keep-alive connection (Node derives it from keepAliveTimeout). */
function keepAliveHeader(port: number): Promise<string | undefined> {
  const agent = new http.Agent({ keepAlive: true });
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/healthz', agent }, (res) => {
        res.resume();
        res.on('end', () => {
          agent.destroy();
          resolve(res.headers['keep-alive'] as string | undefined);
        });
      })
      .on('error', reject);
  });
}

describe('idle keep-alive connections outlive a load balancer idle timeout (60 s)', () => {
  it('are kept 65 s by default, with headersTimeout above that', async () => {
    const config = loadConfig({});
    expect(config.keepAliveTimeoutMs).toBe(65_000);
    const app = express().get('/healthz', (_req, res) => {
      res.json({ status: 'ok' });
    });
    const server = await listen(app, { port: 0, host: '127.0.0.1', keepAliveTimeoutMs: config.keepAliveTimeoutMs });
    try {
      expect(server.keepAliveTimeout).toBe(65_000);
      expect(server.headersTimeout).toBe(66_000);
      expect(server.headersTimeout).toBeLessThan(server.requestTimeout);
      expect(await keepAliveHeader((server.address() as AddressInfo).port)).toBe('timeout=65');
    } finally {
      server.close();
    }
  });

  it('follow ROSTER_KEEP_ALIVE_TIMEOUT_MS', async () => {
    const config = loadConfig({ ROSTER_KEEP_ALIVE_TIMEOUT_MS: '120000' });
    const server = await listen(express(), { port: 0, host: '127.0.0.1', keepAliveTimeoutMs: config.keepAliveTimeoutMs });
    try {
      expect(server.keepAliveTimeout).toBe(120_000);
      expect(server.headersTimeout).toBe(121_000);
    } finally {
      server.close();
    }
  });

  describe('the server process', () => {
    let db: ProcessDatabase;
    beforeAll(async () => {
      db = await processDatabase();
    });
    afterAll(() => db.cleanup());

    it('keeps idle connections open for ROSTER_KEEP_ALIVE_TIMEOUT_MS', async () => {
      const server = await startServer({ ...db.env, ROSTER_KEEP_ALIVE_TIMEOUT_MS: '75000' });
      try {
        expect(await keepAliveHeader(server.port)).toBe('timeout=75');
      } finally {
        expect((await stopServer(server.child)).code).toBe(0);
      }
    }, 120_000);
  });
});
