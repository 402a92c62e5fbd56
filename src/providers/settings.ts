import { IsInt, IsNumber, IsOptional, IsPositive, IsUrl, Max, Min, ValidateNested } from "class-validator";
import type { HttpSettings } from "./http/datasource";

/** Overrides of a provider's documented rate limit. */
export class RateLimitSettings {
  @IsOptional()
  @IsNumber()
  @IsPositive()
  requestsPerSecond?: number;

  @IsOptional()
  @IsInt()
  @Min(1)
  maxConcurrent?: number;
}

/** What every provider section of the config holds beside its credentials. */
export class BaseProviderSettings implements HttpSettings {
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ["http", "https"] }, { message: "baseUrl must be an http(s) URL" })
  baseUrl!: string;

  @IsInt()
  @Min(100)
  @Max(120_000)
  timeoutMs: number = 10_000;

  @IsInt()
  @Min(0)
  @Max(10)
  maxRetries: number = 2;

  @IsOptional()
  @ValidateNested()
  rateLimit?: RateLimitSettings;
}
