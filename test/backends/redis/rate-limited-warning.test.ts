import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RateLimitedWarning } from '../../../src/backends/redis/rate-limited-warning.js';
import { captureLogger, waitFor } from './support.js';

describe('RateLimitedWarning', () => {
  it('logs the first occurrence, then one summary with a count per interval', async () => {
    const log = captureLogger();
    const warning = new RateLimitedWarning(log.logger, 'Dropped garbage', 100);
    const error = new RangeError('bad byte');
    for (let i = 0; i < 1000; i++) warning.warn({ channel: 'c' }, error);
    assert.equal(log.lines.length, 1);
    assert.equal(log.lines[0]!.msg, 'Dropped garbage');
    assert.equal(log.lines[0]!['reason'], 'bad byte');
    assert.ok(!JSON.stringify(log.lines[0]).includes('stack'), 'no stack trace');

    await waitFor(() => log.lines.length === 2, 2000, 'the summary line');
    assert.equal(log.lines[1]!.msg, 'Dropped garbage (x999 more)');
    assert.equal(log.lines[1]!['count'], 999);

    // Within the next interval: counted, summarised on flush (e.g. at close).
    warning.warn();
    warning.warn();
    assert.equal(log.lines.length, 2);
    warning.flush();
    assert.equal(log.lines.length, 3);
    assert.equal(log.lines[2]!['count'], 2);
    warning.flush();
    assert.equal(log.lines.length, 3, 'nothing left to summarise');
  });
});
