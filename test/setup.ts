import "reflect-metadata";

// @apollo/gateway otherwise probes cloud metadata addresses and reports usage off this machine.
process.env.APOLLO_TELEMETRY_DISABLED = "true";
process.env.USAGEGRAPH_LOG_LEVEL ??= "silent";
