import type { StoredEvent } from './events';
import type { EventAck, Repositories, UnitOfWork } from './ports';

/** One poll's outcome: the events to send (oldest first) and whether more wait beyond them. */
export interface PolledEvents {
  events: StoredEvent[];
  moreAvailable: boolean;
}

/**
 * Poll delivery of provisioning events (RFC 8936), for one organization's stream:
 * acknowledgements first, then the oldest events not yet acknowledged. An event sent
 * but not acknowledged is sent again by the next poll (at least once); one
 * acknowledged is never sent again. Oldest first keeps each subject's events in order.
 */
export class EventPollService {
  constructor(private readonly uow: UnitOfWork) {}

  /**
   * Records `acks`, then returns up to `maxEvents` unacknowledged events (none for 0, with
   * `moreAvailable`). The acknowledgements are a write of their own; the events are read
   * after it, outside any transaction, so they include every event committed before.
   */
  async poll(organizationId: string, acks: EventAck[], maxEvents: number): Promise<PolledEvents> {
    if (acks.length > 0) await this.uow.write((r) => r.events.acknowledge(organizationId, acks));
    return this.uow.read(async (r: Repositories): Promise<PolledEvents> => {
      const found = await r.events.unacknowledged(organizationId, maxEvents + 1);
      return { events: found.slice(0, maxEvents), moreAvailable: found.length > maxEvents };
    });
  }
}
