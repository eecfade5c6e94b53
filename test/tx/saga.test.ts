/** `transactionManager.runSaga`: steps in order, compensations in reverse, bounded retries. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { PluginContext } from '../../src/context/types.js';
import type { SagaStep } from '../../src/tx/types.js';
import { txCluster } from './tx-support.js';

interface Trip {
  log: string[];
}

function step(name: string, fail = false): SagaStep<Trip> {
  return {
    name,
    run: (trip) => {
      trip.log.push(`run ${name}`);
      if (fail) throw new Error(`${name} failed`);
      return `${name}-ref`;
    },
    compensate: (trip, result) => void trip.log.push(`undo ${name} (${String(result)})`),
  };
}

describe('sagas', () => {
  let cluster: Awaited<ReturnType<typeof txCluster>>;
  let context: PluginContext;
  before(async () => {
    cluster = await txCluster(1);
    context = cluster.nodes[0]!.ctx('travel');
  });
  after(() => cluster.close());

  it('runs every step in order and resolves with their results', async () => {
    const trip: Trip = { log: [] };
    const results = await context.transactionManager.runSaga(
      'book-trip',
      [step('flight'), step('hotel'), step('car')],
      trip,
    );
    assert.deepEqual(results, ['flight-ref', 'hotel-ref', 'car-ref']);
    assert.deepEqual(trip.log, ['run flight', 'run hotel', 'run car']);
  });

  it('compensates the finished steps in reverse order when one fails', async () => {
    const trip: Trip = { log: [] };
    const noUndo: SagaStep<Trip> = { name: 'email', run: (t) => void t.log.push('run email') };
    await assert.rejects(
      context.transactionManager.runSaga(
        'book-trip',
        [step('flight'), noUndo, step('hotel'), step('car', true), step('never')],
        trip,
      ),
      (error: { name: string; code: string; details: Record<string, unknown>; cause: Error }) => {
        assert.equal(error.name, 'SagaFailedError');
        assert.equal(error.code, 'PB_SAGA_FAILED');
        assert.equal(error.details['step'], 'car');
        assert.deepEqual(error.details['compensated'], ['hotel', 'flight']);
        assert.deepEqual(error.details['compensationErrors'], []);
        assert.equal(error.cause.message, 'car failed');
        return true;
      },
    );
    assert.deepEqual(trip.log, [
      'run flight',
      'run email',
      'run hotel',
      'run car',
      'undo hotel (hotel-ref)',
      'undo flight (flight-ref)',
    ]);
  });

  it('retries a failing compensation, then reports it and goes on with the others', async () => {
    const trip: Trip = { log: [] };
    let attempts = 0;
    const stubborn: SagaStep<Trip> = {
      name: 'hotel',
      run: () => 'h',
      compensate: () => {
        attempts++;
        throw new Error('hotel API down');
      },
    };
    let flaky = 0;
    const flakyUndo: SagaStep<Trip> = {
      name: 'flight',
      run: () => 'f',
      compensate: (t) => {
        if (++flaky < 2) throw new Error('once');
        t.log.push('undo flight');
      },
    };
    const errors: unknown[] = [];
    let reported!: () => void;
    const seen = new Promise<void>((resolve) => (reported = resolve));
    context.eventBus.subscribe('plugin.error', (data) => {
      errors.push(data);
      reported();
    });
    await assert.rejects(
      context.transactionManager.runSaga('trip', [flakyUndo, stubborn, step('car', true)], trip, {
        compensationAttempts: 2,
      }),
      (error: { details: Record<string, unknown>; message: string }) => {
        assert.deepEqual(error.details['compensated'], ['flight']);
        assert.deepEqual(error.details['compensationErrors'], [
          { step: 'hotel', message: 'hotel API down' },
        ]);
        assert.match(error.message, /1 compensation\(s\) failed too: hotel/);
        return true;
      },
    );
    assert.equal(attempts, 2);
    assert.deepEqual(trip.log, ['run car', 'undo flight']);
    await seen;
    assert.equal((errors[0] as { event: string }).event, 'transaction.saga.trip');
  });

  it('validates its arguments', async () => {
    const tm = context.transactionManager;
    await assert.rejects(tm.runSaga('', [], {}), { code: 'PB_VALIDATION' });
    await assert.rejects(tm.runSaga('s', [{ name: 'x' } as never], {}), { code: 'PB_VALIDATION' });
    await assert.rejects(tm.runSaga('s', [], {}, { compensationAttempts: 0 }), {
      code: 'PB_VALIDATION',
    });
  });
});
