import { Cron } from 'croner';
import { ValidationError } from '../errors/errors.js';
import type { RepeatSchedule } from './repeat-types.js';

/** The first due time strictly after `after` (epoch ms); undefined when there is none. */
export type NextDue = (after: number) => number | undefined;

/**
 * Turn a schedule into its due-time function, or throw a {@link ValidationError} saying what is
 * wrong with it. Due times depend only on the schedule and the clock, never on when or where the
 * schedule was started: that is what lets every host agree on them.
 */
export function compileSchedule(schedule: RepeatSchedule, what: string): NextDue {
  if (typeof schedule !== 'object' || schedule === null) {
    throw new ValidationError(`${what}: the schedule must be { every } or { cron, timezone? }.`);
  }
  if ('every' in schedule) return everyDue(schedule.every, what);
  if ('cron' in schedule) return cronDue(schedule.cron, schedule.timezone, what);
  throw new ValidationError(`${what}: the schedule must be { every } or { cron, timezone? }.`);
}

function everyDue(every: unknown, what: string): NextDue {
  if (typeof every !== 'number' || !Number.isSafeInteger(every) || every < 1) {
    throw new ValidationError(
      `${what}: "every" must be a whole number of milliseconds, at least 1 (got ${String(every)}).`,
      { details: { every } },
    );
  }
  return (after) => (Math.floor(after / every) + 1) * every;
}

function cronDue(pattern: unknown, timezone: unknown, what: string): NextDue {
  if (typeof pattern !== 'string' || pattern.trim() === '') {
    throw new ValidationError(`${what}: "cron" must be a cron pattern such as "0 9 * * 1-5".`, {
      details: { cron: pattern },
    });
  }
  if (timezone !== undefined && (typeof timezone !== 'string' || timezone === '')) {
    throw new ValidationError(`${what}: "timezone" must be an IANA time zone name.`, {
      details: { timezone },
    });
  }
  let cron: Cron;
  let first: Date | null;
  try {
    // No callback: croner only computes times here, it schedules nothing.
    cron = new Cron(pattern, { timezone: timezone ?? 'UTC' });
    first = cron.nextRun();
  } catch (error) {
    throw new ValidationError(
      `${what}: invalid cron schedule "${pattern}"${timezone === undefined ? '' : ` in time zone "${timezone}"`}: ${(error as Error).message}`,
      { details: { cron: pattern, timezone }, cause: error },
    );
  }
  if (first === null) {
    throw new ValidationError(`${what}: the cron pattern "${pattern}" never matches a date.`, {
      details: { cron: pattern, timezone },
    });
  }
  return (after) => cron.nextRun(new Date(after))?.getTime();
}
