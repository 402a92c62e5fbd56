import type { ProviderDemo } from "../module";
import { ADVERITY_DEMO_KEY, AdverityEmulator } from "./adverity.emulator";

export const adverityDemo: ProviderDemo = {
  startEmulator: (options) => new AdverityEmulator(options).start(),
  demoSettings: (url) => ({ baseUrl: url, apiKey: ADVERITY_DEMO_KEY, authScheme: "Token" }),
  errorSamples: {
    authFailure: { status: 401, body: { detail: "Invalid token." } },
    badParameter: { status: 400, body: { detail: "date_from: Enter a valid date." } },
    rateLimited: { status: 429, body: { detail: "Request was throttled." } },
  },
};
