import { registerEnumType } from "type-graphql";
import { AlertKind, BudgetState } from "../alerts/alert.model";
import { MetricKind, ProviderId } from "../providers/provider";
import { Granularity, SourceState } from "../usage/usage.model";

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

registerEnumType(BudgetState, {
  name: "BudgetState",
  description: "Where a budget stands.",
  valuesConfig: {
    OK: { description: "Below the first threshold under 1." },
    WARNING: { description: "At or over the first threshold below 1 (0.8 by default)." },
    EXCEEDED: { description: "At or over the amount." },
    UNKNOWN: { description: "The source could not answer the period." },
  },
});
registerEnumType(AlertKind, {
  name: "AlertKind",
  description: "What an alert is about.",
  valuesConfig: {
    BUDGET_THRESHOLD: { description: "The day a budget's use first reached one of its thresholds in a period." },
    ANOMALY: { description: "A COUNTER day above 3 × the median of the 14 days before it (when that median is above 0)." },
    SOURCE_FAILING: { description: "A provider whose collection failed on 2 consecutive runs." },
  },
});

export { AlertKind, BudgetState, Granularity, MetricKind, ProviderId, SourceState };
