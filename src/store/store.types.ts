import type { CalendarDate, DateRange } from "../common/dates";

/**
 * One stored number, at the provider's own resolution: an `Observation` of src/providers/provider.ts
 * with dimension keys left open (the store does not know the providers' dimension catalogue).
 */
export interface StoredObservation {
  metric: string;
  dimensions: Readonly<Record<string, { value: string; label: string }>>;
  start: CalendarDate;
  end: CalendarDate;
  value: number;
  final: boolean;
}

/** How a collection run ended; RUNNING until it records its end. */
export type CollectionRunState = "RUNNING" | "OK" | "PARTIAL" | "FAILED";

/** One scheduled or manual collection of an organization's provider (written by the collector). */
export interface CollectionRun {
  organization: string;
  provider: string;
  /**
   * ISO 8601 instant. With organization and provider it is the run's key: recording a run again
   * (RUNNING at its start, its outcome at its end) updates the same row.
   */
  startedAt: string;
  finishedAt: string | null;
  state: CollectionRunState;
  /** An `ErrorCode` value when the run failed or was partial. */
  errorCode: string | null;
  /** Safe to show a client: never an upstream body or a credential. Cut to 1,000 characters. */
  errorMessage: string | null;
  /** Days the run wrote. */
  days: number;
}

/**
 * One delivery of one alert to one webhook: the unique key of the `notifications` table. `webhook`
 * is chosen by the caller and must not be the URL (a secret): the notifier uses a hash of it.
 */
export interface NotificationKey {
  organization: string;
  alertId: string;
  webhook: string;
}

/** How a claimed delivery ended: SENT for good, or FAILED, which the next claim takes over. */
export interface NotificationOutcome {
  sent: boolean;
  /** The receiver's last HTTP status; null when it never answered. */
  status: number | null;
  /** POSTs made under this claim. */
  attempts: number;
}

/** What the store knows of one organization's provider: for `Organization.collection`. */
export interface StoreExtent {
  /** First and last day covered as final, any scope; null when none. */
  from: CalendarDate | null;
  through: CalendarDate | null;
  /** Distinct days covered as final, any scope. */
  days: number;
}

/**
 * The durable store of final observations and of coverage. Coverage records which (organization,
 * provider, fetch scope, day) an upstream answered, so that "answered without a row" (zero) is told
 * apart from "never asked" (unknown). Only organization ids reach the store, never credentials.
 */
export interface UsageStore {
  readonly kind: "sqlite" | "postgres" | "none";
  /**
   * Writes through this object so far, and when the last one committed (its clock; -Infinity before
   * any): whatever was built from earlier reads (a report kept for reuse, a replayable response) may
   * be stale once it moves. Writes of other processes are not counted.
   */
  readonly writes: { readonly count: number; readonly lastAt: number };
  /**
   * Writes one fetch's answer in one transaction: upserts the observations (idempotent by
   * organization, provider, scope, metric, dimensions, start and end) and marks `days` covered for
   * `scope`. Rows and coverage are final exactly when the write is: a final write replaces non-final
   * rows, a non-final write never replaces a final one, and in a final write every observation must
   * be final; a window is at most MAX_WINDOW_DAYS (366) days. Writing the same answer twice changes
   * nothing. Throws StoreArgumentError for a bad argument (a non-finite value, a bad date, the same
   * key twice) before writing anything.
   */
  write(org: string, provider: string, scope: string, days: readonly CalendarDate[], observations: readonly StoredObservation[], final: boolean): Promise<void>;
  /** Days of `range` covered as FINAL for `scope`. A range whose `from` is after its `to` is empty. */
  finalDays(org: string, provider: string, scope: string, range: DateRange): Promise<Set<CalendarDate>>;
  /**
   * Final observations written for `scope` whose window [start, end] overlaps `range` (a Pipefy
   * period reaching past it included: the caller decides what a window answers), ordered
   * by start, metric, dimensions. Per scope like coverage: a filtered answer and an unfiltered one
   * hold rows of the same metric, dimensions and day, and must not add up on read.
   */
  observations(org: string, provider: string, scope: string, range: DateRange, metrics?: readonly string[]): Promise<StoredObservation[]>;
  /** First and last day covered as final and the number of such days, any scope. */
  extent(org: string, provider: string): Promise<StoreExtent>;
  /** Inserts the run, or updates it when (organization, provider, startedAt) was recorded before. */
  recordRun(run: CollectionRun): Promise<void>;
  /** The latest `n` runs, newest first. */
  lastRuns(org: string, provider: string, n: number): Promise<CollectionRun[]>;
  /**
   * Claims the delivery `key` for the caller: resolves to a claim token for exactly one caller, and
   * to null for every other one while the delivery is sent, or in flight under a claim younger than
   * `leaseMs`. The claim is the write itself (an INSERT that a unique key lets through once, or an
   * UPDATE of a FAILED or expired row, conditional in its WHERE clause), never a read followed by a
   * write, so two replicas or a restart never both get it.
   */
  claimNotification(key: NotificationKey, leaseMs: number): Promise<string | null>;
  /** Records the end of the delivery claimed with `claim`; a claim taken over since changes nothing. */
  settleNotification(key: NotificationKey, claim: string, outcome: NotificationOutcome): Promise<void>;
  /** True when the store answers a trivial query. */
  healthy(): Promise<boolean>;
  /** Closes the connection or pool; idempotent. */
  close(): Promise<void>;
}

/**
 * The store could not be opened or migrated. The message is one line naming the problem and the
 * store with its password masked; it never holds a password.
 */
export class StoreOpenError extends Error {
  override name = "StoreOpenError";
  constructor(
    message: string,
    /** A short machine-readable reason: UNKNOWN_SCHEME, BAD_URL, CANNOT_CREATE_FOLDER, CANNOT_OPEN, CONNECTION_REFUSED, ... */
    readonly reason: string,
  ) {
    super(message);
  }
}

/** A call was refused before anything was read or written: its arguments break the store's contract. */
export class StoreArgumentError extends Error {
  override name = "StoreArgumentError";
}
