// The adapter is tested on a fake (firestore-state-store.test.ts); this file
// checks the other side of that seam: that the real SDK fits it. The members
// of FirestoreClient are function-typed properties, checked contravariantly,
// so `Firestore` extending it means every call the adapter makes (arguments
// included) type-checks against the real SDK, and tsc fails here if not.
import { Firestore } from '@google-cloud/firestore';
import { expect, expectTypeOf, it } from 'vitest';
import type { FirestoreClient } from '../../../functions/gcp/firestore-client.js';
import { FirestoreStateStore } from '../../../functions/gcp/firestore-state-store.js';
import type { FakeFirestore } from '../../support/fake-firestore.js';

it('accepts the real Firestore client, whose types cover every call the store makes', async () => {
  expectTypeOf<Firestore>().toExtend<FirestoreClient>();
  // The SDK connects lazily: constructing it and the store does no I/O.
  const firestore = new Firestore({ projectId: 'weft-test' });
  expect(new FirestoreStateStore({ firestore, collection: 'mesh' })).toBeInstanceOf(FirestoreStateStore);
  await firestore.terminate();
});

it('accepts the fake, which mirrors the same slice', () => {
  expectTypeOf<FakeFirestore>().toExtend<FirestoreClient>();
});
