import { registerEnumType } from "type-graphql";
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

export { Granularity, MetricKind, ProviderId, SourceState };
