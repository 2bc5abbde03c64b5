/**
 * The deployed bundle: importing it registers all seven entry points with
 * functions-framework and composes nothing (no environment is set here), so
 * the deploy can point every function at the same bundle.
 */
import { getFunction } from '@google-cloud/functions-framework/testing';
import { describe, expect, it, vi } from 'vitest';
import { push } from './push-test-server.js';

describe('functions/gcp/index.ts', () => {
  it('registers every entry point GCP_FUNCTIONS lists, composing nothing at import', async () => {
    const { GCP_FUNCTIONS } = await import('../../../functions/gcp/index.js');
    expect([...GCP_FUNCTIONS].sort()).toEqual(
      [
        'weftApi',
        'weftCompile',
        'weftIngest',
        'weftReconcile',
        'weftRegistrar',
        'weftRelay',
        'weftSweep',
      ].sort(),
    );
    for (const name of GCP_FUNCTIONS) expect(getFunction(name), name).toBeTypeOf('function');
  });

  it('answers a push to an unconfigured deployment with a 500 problem, naming nothing of it to the caller', async () => {
    await import('../../../functions/gcp/index.js');
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    const res = await push('weftSweep', {});
    expect(res).toMatchObject({ status: 500, contentType: 'application/problem+json' });
    expect(JSON.stringify(res.body)).not.toMatch(/WEFT_PUSH/);
    expect(logged.mock.calls.join('\n')).toMatch(/WEFT_PUSH_AUDIENCE/);
    logged.mockRestore();
  });
});
