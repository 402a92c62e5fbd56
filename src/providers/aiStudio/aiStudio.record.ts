import { Field, Float, ObjectType } from "type-graphql";
import { DateScalar } from "../../common/scalars";

@ObjectType({ description: "One AI Studio daily usage row: the platform's counters for one UTC day." })
export class AiStudioUsage {
  @Field(() => DateScalar)
  date!: string;

  @Field(() => Float, { description: "Pages parsed (parsed_pages)." })
  parsedPages!: number;

  @Field(() => Float, { description: "Processor runs (processor_runs)." })
  processorRuns!: number;

  @Field(() => Float, { description: "Documents processed (processed_documents)." })
  processedDocuments!: number;

  @Field(() => Float, { description: "Operations that completed (completed)." })
  completed!: number;

  @Field(() => Float, { description: "Operations that failed (failed)." })
  failed!: number;

  static of(values: AiStudioUsage): AiStudioUsage {
    return Object.assign(new AiStudioUsage(), values);
  }
}
