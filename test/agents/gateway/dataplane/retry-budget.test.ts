import { describe, expect, it } from 'vitest';
import { RetryBudget } from '../../../../agents/gateway/dataplane/retry-budget.js';

describe('RetryBudget', () => {
  it('allows retries up to the floor plus a ratio of recent calls, then refuses', () => {
    let now = 0;
    const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 1, windowMs: 10_000, now: () => now });
    for (let i = 0; i < 100; i++) budget.deposit();
    let granted = 0;
    while (budget.tryWithdraw()) granted += 1;
    expect(granted).toBe(10 + 20);
    now += 5_000;
    expect(budget.tryWithdraw()).toBe(false);
    now += 6_000; // the calls and retries have left the window: only the floor remains
    granted = 0;
    while (budget.tryWithdraw()) granted += 1;
    expect(granted).toBe(10);
  });

  it('keeps retries at or under 20 % extra under steady load', () => {
    let now = 0;
    const budget = new RetryBudget({ ratio: 0.2, minPerSecond: 0, now: () => now });
    let calls = 0;
    let retries = 0;
    for (let t = 0; t < 60_000; t += 10) {
      now = t;
      budget.deposit();
      calls += 1;
      // Every call fails and wants three retries.
      for (let r = 0; r < 3; r++) if (budget.tryWithdraw()) retries += 1;
    }
    expect(retries / calls).toBeLessThanOrEqual(0.2);
    expect(retries / calls).toBeGreaterThan(0.15);
  });
});
