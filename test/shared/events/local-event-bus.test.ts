import { describe, expect, it } from 'vitest';
import type { CloudEvent } from '../../../shared/events/cloud-event.js';
import { type DeliveryFailure, LocalEventBus } from '../../../shared/events/local-event-bus.js';
import { ValidationError } from '../../../shared/model/errors.js';

const event = (id: string, type = 'dev.weft.test'): CloudEvent => ({
  specversion: '1.0',
  id,
  source: '/test',
  type,
  data: { n: id },
});

describe('LocalEventBus', () => {
  it('returns from publish before any handler runs, then delivers each type to its subscribers', async () => {
    const bus = new LocalEventBus();
    const seen: string[] = [];
    bus.subscribe('dev.weft.test', async (events) => {
      seen.push(...events.map((e) => `a:${e.id}`));
    });
    bus.subscribe('dev.weft.other', async (events) => {
      seen.push(...events.map((e) => `b:${e.id}`));
    });
    await bus.publish([event('1'), event('2', 'dev.weft.other'), event('3')]);
    expect(seen).toStrictEqual([]);
    await bus.idle();
    expect(seen.sort()).toStrictEqual(['a:1', 'a:3', 'b:2']);
  });

  it('batches what queued up while a handler ran, up to maxBatch', async () => {
    const bus = new LocalEventBus({ maxBatch: 3 });
    const batches: string[][] = [];
    bus.subscribe('dev.weft.test', async (events) => {
      batches.push(events.map((e) => e.id));
    });
    await bus.publish([event('1'), event('2')]);
    await bus.publish(['3', '4', '5', '6'].map((id) => event(id)));
    await bus.idle();
    expect(batches).toStrictEqual([
      ['1', '2', '3'],
      ['4', '5', '6'],
    ]);
  });

  it('delivers at least once: a failing handler gets the same batch again, with growing waits', async () => {
    const failures: DeliveryFailure[] = [];
    const bus = new LocalEventBus({ retryDelayMs: 5, onFailure: (f) => failures.push(f) });
    const calls: { ids: string[]; at: number }[] = [];
    bus.subscribe('dev.weft.test', async (events) => {
      calls.push({ ids: events.map((e) => e.id), at: performance.now() });
      if (calls.length < 3) throw new Error('store unavailable');
    });
    await bus.publish([event('1'), event('2')]);
    await bus.idle();
    expect(calls.map((c) => c.ids)).toStrictEqual([
      ['1', '2'],
      ['1', '2'],
      ['1', '2'],
    ]);
    expect(calls[2]!.at - calls[1]!.at).toBeGreaterThanOrEqual(9);
    expect(failures.map((f) => [f.attempt, f.final])).toStrictEqual([
      [1, false],
      [2, false],
    ]);
  });

  it('gives a batch up after maxAttempts, reports it, and goes on with the next', async () => {
    const failures: DeliveryFailure[] = [];
    const bus = new LocalEventBus({ maxAttempts: 3, retryDelayMs: 1, onFailure: (f) => failures.push(f) });
    const calls: string[] = [];
    bus.subscribe('dev.weft.test', async (events) => {
      calls.push(events[0]!.id);
      if (events[0]!.id === 'poison') throw new Error('always');
    });
    await bus.publish([event('poison')]);
    await bus.idle();
    await bus.publish([event('after')]);
    await bus.idle();
    expect(calls).toStrictEqual(['poison', 'poison', 'poison', 'after']);
    expect(failures.at(-1)).toMatchObject({ ids: ['poison'], attempt: 3, final: true });
  });

  it('refuses an invalid event at publish, delivering none of the batch', async () => {
    const bus = new LocalEventBus();
    const seen: string[] = [];
    bus.subscribe('dev.weft.test', async (events) => {
      seen.push(...events.map((e) => e.id));
    });
    await expect(
      bus.publish([event('ok'), { ...event('bad'), specversion: '0.3' } as never]),
    ).rejects.toThrow(ValidationError);
    await bus.idle();
    expect(seen).toStrictEqual([]);
  });

  it('close() cuts a retry wait short and drops what is queued', async () => {
    const bus = new LocalEventBus({ retryDelayMs: 60_000 });
    let calls = 0;
    bus.subscribe('dev.weft.test', async () => {
      calls += 1;
      throw new Error('down');
    });
    await bus.publish([event('1')]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const started = performance.now();
    await bus.close();
    expect(performance.now() - started).toBeLessThan(1000);
    expect(calls).toBe(1);
    await bus.publish([event('2')]);
    await bus.idle();
    expect(calls).toBe(1);
  });

  it('stops delivering to an unsubscribed handler', async () => {
    const bus = new LocalEventBus();
    let calls = 0;
    const stop = bus.subscribe('dev.weft.test', async () => {
      calls += 1;
    });
    stop();
    await bus.publish([event('1')]);
    await bus.idle();
    expect(calls).toBe(0);
  });
});
