import type { CalendarDate } from "../../common/dates";
import { ErrorCode, UpstreamError } from "../../common/errors";
import { HttpDataSource, type UpstreamResponse } from "../http/datasource";
import type { CallContext, ProviderDeps } from "../provider";
import { JIANDAOYUN_CATALOG } from "./jiandaoyun.catalog";
import type { JiandaoyunSettings } from "./jiandaoyun.settings";
import { errorCodeOf, parseOverview, VendorCode, type OverviewBody } from "./jiandaoyun.wire";

export class JiandaoyunDataSource extends HttpDataSource {
  constructor(private readonly config: JiandaoyunSettings, deps: ProviderDeps) {
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
          return new UpstreamError(ErrorCode.UPSTREAM_AUTH_FAILED, `${name}: the configured API key has no permission for usage statistics (code ${vendorCode})`, {
            status: 400,
            vendorCode,
          });
        case VendorCode.COMPANY_FREQUENCY_LIMIT:
        case VendorCode.KEY_FREQUENCY_LIMIT:
          return this.throttled(res, vendorCode);
        case VendorCode.BAD_PARAMETER:
          return new UpstreamError(ErrorCode.UPSTREAM_BAD_RESPONSE, `${name} refused the request parameters (code ${vendorCode})`, { status: 400, vendorCode });
      }
    }
    if (res.status === 429) return this.throttled(res, vendorCode);
    const error = super.errorFor(res);
    if (error && error.options.vendorCode === undefined) error.options.vendorCode = vendorCode;
    return error;
  }

  /** The document says to wait 1 s on a frequency limit: a shorter Retry-After is not trusted. */
  private throttled(res: UpstreamResponse, vendorCode: number | undefined): UpstreamError {
    const error = this.rateLimited(res, vendorCode);
    if ((error.options.retryAfterSeconds ?? 0) < 1) error.options.retryAfterSeconds = 1;
    return error;
  }

  /** The organization's usage levels on one UTC+8 day. */
  overview(date: CalendarDate, ttlMs: number, call: CallContext): Promise<OverviewBody> {
    return this.request({ method: "POST", path: "/api/v1/corp_usage/overview", body: { date }, ttlMs }, call, (body) => parseOverview(body, date));
  }
}
