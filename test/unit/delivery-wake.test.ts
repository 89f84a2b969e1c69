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
    /** How many times the worker asked whether any receiver exists. */
    asked: 0,
    prune: async () => undefined,
    failingCount: async () => 0,
    any: async () => {
      store.asked += 1;
      return store.receivers;
    },
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

/** A worker on the store that polls once a minute (within a test, only wakes and `round` make it look), on `clock` (ms). */
const workerOn = (store: ReturnType<typeof slowStore>, clock = { ms: Date.now() }) =>
  new DeliveryWorker({
    store: store as unknown as ReceiverStore,
    keys: {} as SigningKeys,
    issuer: 'http://localhost/scim/v2',
    allowPrivate: true,
    retentionDays: 7,
    intervalMs: 60_000,
    now: () => new Date(clock.ms),
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
    const clock = { ms: Date.now() };
    const worker = workerOn(store, clock);
    worker.start();
    await tick();
    expect(store.rounds).toBe(1);
    for (let i = 0; i < 3; i++) worker.wake();
    await tick();
    expect(store.rounds).toBe(1);
    // Idle polls ask whether any receiver exists at most every 5 s of the worker's clock, not each time.
    await worker.round();
    expect(store.asked).toBe(1);
    // A receiver is added (by another process): a poll after that finds it, and commits wake the worker again.
    store.receivers = true;
    clock.ms += 5_000;
    await worker.round();
    expect(store.asked).toBe(2);
    expect(store.rounds).toBe(3);
    worker.wake();
    await tick();
    expect(store.rounds).toBe(4);
    await worker.stop();
  });
});
