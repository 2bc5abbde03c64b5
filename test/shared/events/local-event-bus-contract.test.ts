import type { CloudEvent } from '../../../shared/events/cloud-event.js';
import { LocalEventBus } from '../../../shared/events/local-event-bus.js';
import { CONTRACT_EVENT_TYPES, describeEventBusContract } from '../../contract/event-bus.js';

describeEventBusContract('LocalEventBus, through subscribe', async () => {
  const bus = new LocalEventBus();
  const seen: CloudEvent[] = [];
  for (const type of CONTRACT_EVENT_TYPES)
    bus.subscribe(type, async (events) => {
      seen.push(...events);
    });
  return {
    bus,
    async delivered(count) {
      const deadline = Date.now() + 5000;
      while (new Set(seen.map((e) => e.id)).size < count && Date.now() < deadline) {
        await bus.idle();
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      return [...seen];
    },
    close: () => bus.close(),
  };
});
