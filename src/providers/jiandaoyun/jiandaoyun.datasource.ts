import type { CalendarDate } from "../../common/dates";
import { ErrorCode, UpstreamError } from "../../common/errors";
import { HttpDataSource, type UpstreamResponse } from "../http/datasource";
import type { CallContext, ProviderDeps } from "../provider";
import { JIANDAOYUN_CATALOG } from "./jiandaoyun.catalog";
import type { JiandaoyunSettings } from "./jiandaoyun.settings";
import { errorCodeOf, parseOverview, VendorCode, type OverviewBody, type OverviewRequest } from "./jiandaoyun.wire";

export class JiandaoyunDataSource extends HttpDataSource {
  constructor(
    private readonly config: JiandaoyunSettings,
    deps: ProviderDeps,
  ) {
    super(JIANDAOYUN_CATALOG, config, config.apiKey, deps);
  }

  protected authorization(): string {
    return `Bearer ${this.config.apiKey}`;
  }

  /** Jiandaoyun answers its errors with HTTP 400 and `{code, msg}`: the code decides. */
  protected override errorFor(res: UpstreamResponse): UpstreamError | undefined {
    const vendorCode = errorCodeOf(res.json);
    const name = this.catalog.name;
    if (res.status === 400 && vendorCode !== undefined) {
      switch (vendorCode) {
        case VendorCode.BAD_KEY:
        case VendorCode.BAD_KEY_ALT:
          return new UpstreamError(ErrorCode.UPSTREAM_AUTH_FAILED, `${name} rejected the configured API key (code ${vendorCode})`, { status: 400, vendorCode });
        case VendorCode.NO_PERMISSION:
          return new UpstreamError(
            ErrorCode.UPSTREAM_AUTH_FAILED,
            `${name}: the configured API key has no permission for usage statistics (code ${vendorCode})`,
            {
              status: 400,
              vendorCode,
            },
          );
        case VendorCode.IP_NOT_WHITELISTED:
          return this.keyRestriction(
            vendorCode,
            "the configured API key's IP whitelist does not include this server",
            "add this server's public IP address to the key's IP whitelist",
          );
        case VendorCode.APP_NOT_AUTHORIZED:
          return this.keyRestriction(
            vendorCode,
            "the configured API key's app authorization scope does not allow this call",
            "set the key's app authorization scope to all apps",
          );
        case VendorCode.API_NOT_AUTHORIZED:
          return this.keyRestriction(
            vendorCode,
            "the configured API key's API authorization scope does not include the usage statistics API",
            "grant the key access to this API, or set its API authorization scope to all APIs",
          );
        case VendorCode.COMPANY_FREQUENCY_LIMIT:
        case VendorCode.KEY_FREQUENCY_LIMIT:
          return this.throttled(res, vendorCode);
        case VendorCode.BAD_PARAMETER:
          return new UpstreamError(ErrorCode.UPSTREAM_BAD_RESPONSE, `${name} refused the request parameters (code ${vendorCode})`, { status: 400, vendorCode });
      }
    }
    if (res.status === 429) return this.throttled(res, vendorCode);
    return super.errorFor(res);
  }

  protected override vendorCode(body: unknown): number | undefined {
    return errorCodeOf(body);
  }

  /**
   * The API key's own restrictions (Open Platform > Key Management > API Key): a credentials
   * problem the customer fixes in the key's settings, so the message says what to change.
   */
  private keyRestriction(vendorCode: number, problem: string, fix: string): UpstreamError {
    return new UpstreamError(
      ErrorCode.UPSTREAM_AUTH_FAILED,
      `${this.catalog.name}: ${problem} (code ${vendorCode}): ${fix} in Open Platform > Key Management > API Key`,
      {
        status: 400,
        vendorCode,
      },
    );
  }

  /** The document says to wait 1 s on a frequency limit: a shorter Retry-After is not trusted. */
  private throttled(res: UpstreamResponse, vendorCode: number | undefined): UpstreamError {
    const error = this.rateLimited(res, vendorCode);
    if ((error.options.retryAfterSeconds ?? 0) < 1) error.options.retryAfterSeconds = 1;
    return error;
  }

  /** The organization's usage levels on one UTC+8 day. */
  overview(date: CalendarDate, ttlMs: number, call: CallContext): Promise<OverviewBody> {
    // Exactly the contract's body: `{date}`, never null or extra fields.
    const body: OverviewRequest = { date };
    return this.request({ method: "POST", path: "/api/v1/corp_usage/overview", body, ttlMs }, call, (answer) => parseOverview(answer, date));
  }
}
