import { IsInt, IsNumber, IsOptional, IsPositive, IsUrl, Max, Min, ValidateNested } from "class-validator";
import { HTTP_DEFAULTS, type HttpSettings } from "./http/datasource";

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

/** When a provider's circuit opens, and when it probes again. */
export class CircuitBreakerSettings {
  /** Consecutive failed calls (after their retries) that open the circuit. */
  @IsInt()
  @Min(1)
  @Max(100)
  failures: number = HTTP_DEFAULTS.circuitBreaker.failures;

  /** How long the circuit stays open before one probe call is let through. */
  @IsInt()
  @Min(100)
  @Max(600_000)
  halfOpenAfterMs: number = HTTP_DEFAULTS.circuitBreaker.halfOpenAfterMs;
}

/** What every provider section of the config holds beside its credentials. */
export class BaseProviderSettings implements HttpSettings {
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ["http", "https"] }, { message: "baseUrl must be an http(s) URL" })
  baseUrl!: string;

  @IsInt()
  @Min(100)
  @Max(120_000)
  timeoutMs: number = HTTP_DEFAULTS.timeoutMs;

  @IsInt()
  @Min(0)
  @Max(10)
  maxRetries: number = HTTP_DEFAULTS.maxRetries;

  @IsOptional()
  @ValidateNested()
  rateLimit?: RateLimitSettings;

  @IsOptional()
  @ValidateNested()
  circuitBreaker?: CircuitBreakerSettings;

  /** How long a failure no retry can fix (refused credentials, a rejected query) is answered from memory; 0 = never. */
  @IsInt()
  @Min(0)
  @Max(3_600_000)
  failureMemoryMs: number = HTTP_DEFAULTS.failureMemoryMs;

  /** Largest upstream response body read, in bytes. */
  @IsInt()
  @Min(1024)
  @Max(512 * 1024 * 1024)
  maxBodyBytes: number = HTTP_DEFAULTS.maxBodyBytes;
}
