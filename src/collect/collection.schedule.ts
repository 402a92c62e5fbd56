import { Cron } from "croner";
import type { CollectConfig } from "../config/config";

/** When the schedule runs next after `now`; null when collection is off. */
export function nextRunAt(collect: CollectConfig | false, now: number): Date | null {
  if (!collect) return null;
  return new Cron(collect.schedule, { timezone: collect.timeZone }).nextRun(new Date(now));
}

/**
 * BullMQ's `repeatStrategy`: the next run of a job scheduler's pattern after `millis`, by croner,
 * so that the queued schedule and the in-process one (and `nextRunAt`) read a cron expression
 * alike, and config validation (croner) accepts exactly what runs.
 */
export function cronerRepeatStrategy(millis: number, opts: { pattern?: string; tz?: string }): number | undefined {
  if (!opts.pattern) return undefined;
  return new Cron(opts.pattern, { timezone: opts.tz }).nextRun(new Date(millis))?.getTime();
}
