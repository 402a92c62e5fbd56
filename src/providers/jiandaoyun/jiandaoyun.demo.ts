import type { ProviderDemo } from "../module";
import { JIANDAOYUN_DEMO_KEY, JiandaoyunEmulator } from "./jiandaoyun.emulator";
import { VendorCode } from "./jiandaoyun.wire";

export const jiandaoyunDemo: ProviderDemo = {
  startEmulator: (options) => new JiandaoyunEmulator(options).start(),
  demoSettings: (url) => ({ baseUrl: url, apiKey: JIANDAOYUN_DEMO_KEY }),
  errorSamples: {
    authFailure: { status: 400, body: { code: VendorCode.BAD_KEY, msg: "Invalid API key." } },
    badParameter: { status: 400, body: { code: VendorCode.BAD_PARAMETER, msg: "Invalid request parameter." } },
    rateLimited: { status: 400, body: { code: VendorCode.KEY_FREQUENCY_LIMIT, msg: "Request frequency of the API key exceeds the limit." } },
  },
};
