import type { ReceiverStore } from '../../src/domain/receivers';
import { DeliveryWorker } from '../../src/events/delivery';
import type { SigningKeys } from '../../src/events/keys';

/** A store with no receivers due (`receivers`: whether any exists) whose claims wait until `open()`; counts the rounds (one claim each). */
function slowStore() {
  let open: () => void = () => undefined;
  let gate = new Promise<void>((resolve) => (open = resolve));
  const store = {
    rounds: 0,
    receivers: true,
    prune: async () => undefined,
    failingCount: async () => 0,
    any: async () => store.receivers,
    claimDue: async () => {
      store.rounds += 1;
      await gate;
      return [];
    },
    open: () => {
      open();
      gate = Promise.resolve();
    },
  };
  return store;
}

/** A worker on the store that polls once a minute: within a test, only wakes (and `round`) make it look. */
const workerOn = (store: ReturnType<typeof slowStore>) =>
  new DeliveryWorker({
    store: store as unknown as ReceiverStore,
    keys: {} as SigningKeys,
    issuer: 'http://localhost/scim/v2',
    allowPrivate: true,
    retentionDays: 7,
    intervalMs: 60_000,
  });

const tick = (ms = 20) => new Promise((resolve) => setTimeout(resolve, ms));

describe('DeliveryWorker.wake', () => {
  it('makes any number of wakes during a round one more round, at once', async () => {
    const store = slowStore();
    const worker = workerOn(store);
    worker.start();
    await tick();
    expect(store.rounds).toBe(1);
    for (let i = 0; i < 5; i++) worker.wake();
    store.open();
    await tick();
    expect(store.rounds).toBe(2);
    worker.wake();
    await tick();
    expect(store.rounds).toBe(3);
    await worker.stop();
    worker.wake();
    await tick();
    expect(store.rounds).toBe(3);
  });

  it('costs nothing while no receiver exists anywhere, and wakes again once a look finds one', async () => {
    const store = slowStore();
    store.receivers = false;
    store.open();
    const worker = workerOn(store);
    worker.start();
    await tick();
    expect(store.rounds).toBe(1);
    for (let i = 0; i < 3; i++) worker.wake();
    await tick();
    expect(store.rounds).toBe(1);
    // A receiver is added (by another process): the next poll finds it, and commits wake the worker again.
    store.receivers = true;
    await worker.round();
    expect(store.rounds).toBe(2);
    worker.wake();
    await tick();
    expect(store.rounds).toBe(3);
    await worker.stop();
  });
});
