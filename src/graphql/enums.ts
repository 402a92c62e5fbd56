import { registerEnumType } from "type-graphql";
import { MetricKind, ProviderId } from "../providers/provider";

export enum Granularity {
  DAY = "DAY",
  /** ISO week, Monday first. */
  WEEK = "WEEK",
  MONTH = "MONTH",
  /** One bucket for the whole range. */
  TOTAL = "TOTAL",
}

export enum SourceState {
  OK = "OK",
  /** Some of the asked range or breakdown could not be answered exactly; see `error`. */
  PARTIAL = "PARTIAL",
  FAILED = "FAILED",
  /** The organization has no credentials for this provider. */
  NOT_CONFIGURED = "NOT_CONFIGURED",
}

registerEnumType(ProviderId, { name: "ProviderId", description: "The usage sources usagegraph speaks to." });
registerEnumType(MetricKind, {
  name: "MetricKind",
  description: "How a metric rolls up over time.",
  valuesConfig: {
    COUNTER: { description: "Adds up over time: a bucket is the sum of its days." },
    GAUGE: { description: "A level (number of apps): a bucket is its last observed day." },
  },
});
registerEnumType(Granularity, { name: "Granularity", description: "Bucket size of a usage series." });
registerEnumType(SourceState, { name: "SourceState", description: "How completely a provider answered a report." });

export { MetricKind, ProviderId };
