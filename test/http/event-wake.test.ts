import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import { receiverAdd } from '../../src/cli/receivers';
import { EVENT_URIS } from '../../src/domain/events';
import type { DeliveryWorker } from '../../src/events/delivery';
import { deliveryWorker } from '../../src/roster';
import { startTestRoster, type TestRoster } from '../support/roster';
import { patchOp, scimClient, userBody, type ScimClient } from '../support/scim';

/** The SETs a receiver on 127.0.0.1 took, with when each arrived. */
const received: { at: number; payload: Record<string, unknown> }[] = [];
const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (chunk: Buffer) => (body += chunk.toString()));
  req.on('end', () => {
    received.push({ at: Date.now(), payload: decodeJwt(body) as Record<string, unknown> });
    res.writeHead(202).end();
  });
});

let t: TestRoster;
let scim: ScimClient;
let worker: DeliveryWorker;

beforeAll(async () => {
  t = await startTestRoster({ receiversAllowPrivate: true });
  scim = scimClient(t.app, t.token);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  await t.roster.signingKeys.ensureActive();
  await receiverAdd(
    t.roster,
    [],
    { org: 'acme', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` },
    { out: () => undefined, err: () => undefined },
  );
  // One poll a minute: only the wake on commit can deliver within the test's time.
  worker = deliveryWorker(t.roster, 8080, { intervalMs: 60_000 });
  worker.start();
});
afterAll(async () => {
  await worker.stop();
  await new Promise((resolve) => server.close(resolve));
  await t.close();
});

async function until<T>(probe: () => T | undefined, ms: number): Promise<T | undefined> {
  const end = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined || Date.now() > end) return value;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const deactivateOf = (id: string) =>
  received.find((r) => (r.payload.sub_id as { id: string }).id === id && EVENT_URIS.deactivate in (r.payload.events as object));

describe('delivery woken on commit', () => {
  it('pushes a deactivate within a second though the worker polls once a minute', async () => {
    const id = (await scim.post('/Users', userBody('wake.one@example.com')).expect(201)).body.id as string;
    await scim.patch(`/Users/${id}`, patchOp({ op: 'replace', path: 'active', value: false })).expect(204);
    const answered = Date.now();
    const set = await until(() => deactivateOf(id), 1_000);
    expect(set).toBeDefined();
    expect(set!.at - answered).toBeLessThan(1_000);
  });

  it('coalesces writes that commit during a round: every deactivate still arrives', async () => {
    const ids = await Promise.all(
      Array.from({ length: 6 }, async (_, i) => (await scim.post('/Users', userBody(`wake.many${i}@example.com`)).expect(201)).body.id as string),
    );
    await Promise.all(ids.map((id) => scim.patch(`/Users/${id}`, patchOp({ op: 'replace', path: 'active', value: false })).expect(204)));
    const all = await until(() => (ids.every((id) => deactivateOf(id)) ? true : undefined), 2_000);
    expect(all).toBe(true);
  });
});
