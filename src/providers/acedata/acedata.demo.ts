import type { ProviderDemo } from "../module";
import { ACEDATA_DEMO_TOKEN, AceDataEmulator } from "./acedata.emulator";

export const acedataDemo: ProviderDemo = {
  startEmulator: (options) => new AceDataEmulator(options).start(),
  demoSettings: (url) => ({ baseUrl: url, token: ACEDATA_DEMO_TOKEN }),
  errorSamples: {
    authFailure: { status: 401, body: { error: { code: "invalid_token", message: "Invalid token." }, trace_id: "t-401" } },
    badParameter: { status: 400, body: { error: { code: "invalid_parameter", message: "created_at_from is invalid" }, trace_id: "t-400" } },
    rateLimited: { status: 429, body: { error: { code: "too_many_requests", message: "Rate limit exceeded." }, trace_id: "t-429" } },
  },
};
