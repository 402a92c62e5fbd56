import { Cron } from "croner";
import { ConfigError } from "./config-error";

/** `collect` (DESIGN §6): when the scheduled collection runs and how far back it looks. */
export interface CollectConfig {
  /** A cron expression croner parses: 5 fields, or 6 with seconds first. */
  readonly schedule: string;
  /** The IANA time zone the schedule is read in. */
  readonly timeZone: string;
  /** Each run makes sure the last `backfillDays` days are stored (within each provider's retention). */
  readonly backfillDays: number;
}

export const COLLECT_DEFAULTS: CollectConfig = Object.freeze({ schedule: "30 2 * * *", timeZone: "UTC", backfillDays: 30 });

const FIELDS = ["schedule", "timeZone", "backfillDays"] as const;
const MAX_BACKFILL_DAYS = 3_660;

/** The `collect` section: the defaults when absent, false when `"collect": false`. Errors name the field. */
export function resolveCollect(raw: unknown, path = "collect"): CollectConfig | false {
  if (raw === undefined) return COLLECT_DEFAULTS;
  if (raw === false) return false;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`${path} must be an object { "schedule", "timeZone", "backfillDays" } or false (no scheduled collection)`);
  }
  const doc = raw as Record<string, unknown>;
  for (const key of Object.keys(doc)) {
    if (!(FIELDS as readonly string[]).includes(key)) throw new ConfigError(`${path}.${key}: unknown field; expected one of ${FIELDS.join(", ")}`);
  }
  const { schedule = COLLECT_DEFAULTS.schedule, timeZone = COLLECT_DEFAULTS.timeZone, backfillDays = COLLECT_DEFAULTS.backfillDays } = doc;

  if (typeof timeZone !== "string" || !isTimeZone(timeZone)) {
    throw new ConfigError(`${path}.timeZone: ${JSON.stringify(timeZone)} is not an IANA time zone (e.g. "UTC", "Europe/Berlin", "Asia/Shanghai")`);
  }
  if (typeof schedule !== "string" || schedule.trim() === "")
    throw new ConfigError(`${path}.schedule: must be a cron expression, e.g. "30 2 * * *" (02:30 every day)`);
  let next: Date | null;
  try {
    // No callback: croner only parses the pattern, it schedules nothing.
    next = new Cron(schedule, { timezone: timeZone }).nextRun();
  } catch (error) {
    throw new ConfigError(
      `${path}.schedule: ${JSON.stringify(schedule)} is not a cron expression croner can parse (${(error as Error).message}); e.g. "30 2 * * *" (02:30 every day)`,
    );
  }
  if (next === null) throw new ConfigError(`${path}.schedule: ${JSON.stringify(schedule)} never runs`);
  if (typeof backfillDays !== "number" || !Number.isInteger(backfillDays) || backfillDays < 1 || backfillDays > MAX_BACKFILL_DAYS) {
    throw new ConfigError(`${path}.backfillDays: must be a whole number of days from 1 to ${MAX_BACKFILL_DAYS}`);
  }
  return { schedule, timeZone, backfillDays };
}

function isTimeZone(zone: string): boolean {
  if (zone.trim() === "") return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
