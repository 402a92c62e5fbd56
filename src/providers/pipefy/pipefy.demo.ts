import type { ProviderDemo } from "../module";
import { PIPEFY_DEMO_ORGANIZATION, PIPEFY_DEMO_TOKEN, PipefyEmulator } from "./pipefy.emulator";

export const pipefyDemo: ProviderDemo = {
  startEmulator: (options) => new PipefyEmulator(options).start(),
  demoSettings: (url) => ({ baseUrl: url, token: PIPEFY_DEMO_TOKEN, organizationId: PIPEFY_DEMO_ORGANIZATION.id }),
  errorSamples: {
    // The 401 body of Pipefy's public docs (the contract's transport notes).
    authFailure: { status: 401, body: { errors: [{ title: "Unauthorized", detail: "You are not authorized to access this page" }] } },
    // A variable that does not coerce is a request error: errors[] and no data at all.
    badParameter: {
      status: 200,
      body: { errors: [{ message: "Variable $period of type PeriodFilter! was provided invalid value", extensions: { code: "BAD_USER_INPUT" } }] },
    },
    rateLimited: { status: 429, body: { errors: [{ message: "Too many requests", extensions: { code: "TOO_MANY_REQUESTS" } }] } },
  },
};
