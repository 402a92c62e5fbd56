import type { ProviderDemo } from "../module";
import { AI_STUDIO_DEMO_KEY, AiStudioEmulator } from "./aiStudio.emulator";
import { errorBody } from "./aiStudio.wire";

export const aiStudioDemo: ProviderDemo = {
  startEmulator: (options) => new AiStudioEmulator(options).start(),
  demoSettings: (url) => ({ baseUrl: url, apiKey: AI_STUDIO_DEMO_KEY }),
  // The assumed envelope (aiStudio.wire.ts): the vendor document shows none.
  errorSamples: {
    authFailure: { status: 401, body: errorBody("unauthorized", "Missing or invalid API key.") },
    badParameter: { status: 400, body: errorBody("invalid_parameter", "start_date and end_date are required, as yyyy-MM-dd.") },
    rateLimited: { status: 429, body: errorBody("rate_limited", "Too many requests.") },
  },
};
