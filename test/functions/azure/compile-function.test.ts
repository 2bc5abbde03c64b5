import azureFunctions from '@azure/functions';
import { describe, expect, it } from 'vitest';
import {
  createAzureCompileHandler,
  createAzureSweepHandler,
} from '../../../functions/azure/compile-function.js';
import type { CloudEvent } from '../../../shared/events/cloud-event.js';
import { expectCompileAndSweep, testControlPlane } from '../../support/control-plane.js';

const { InvocationContext } = azureFunctions;
const context = (functionName: string) =>
  new InvocationContext({ functionName, invocationId: crypto.randomUUID() });
const timer = { isPastDue: false, schedule: { adjustForDST: false } };

describe('Azure compile and sweep functions (v4 Event Grid and timer triggers)', () => {
  it('sweep publishes the stored writes; compile signs and stores every touched snapshot, once', async () => {
    await expectCompileAndSweep(
      {
        // Event Grid's CloudEvents 1.0 schema hands the handler the event as published.
        compile: async (plane, event: CloudEvent) =>
          (await createAzureCompileHandler(() => plane)(structuredClone(event), context('weftCompile')))
            .written,
        sweep: async (plane) => {
          await createAzureSweepHandler(() => plane)(timer, context('weftSweep'));
        },
      },
      'azure',
    );
  });

  it('throws on an event that is not a weft CloudEvent, so Event Grid retries and dead-letters it', async () => {
    const { plane } = await testControlPlane('azure');
    await expect(
      createAzureCompileHandler(() => plane)({ id: '1', eventType: 'x' }, context('weftCompile')),
    ).rejects.toThrow();
  });
});
