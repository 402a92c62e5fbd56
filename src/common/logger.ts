import pino from "pino";

export type Logger = pino.Logger;

/**
 * Structured JSON logs. Credentials never reach a log line: the paths below are redacted as a
 * second line of defence; the first is that upstream requests are never logged with headers.
 */
export function createLogger(level: string = "info"): Logger {
  return pino(
    {
      level,
      base: { service: "usagegraph" },
      redact: {
        paths: ["authorization", "headers.authorization", "req.headers.authorization", "*.apiKey", "*.token", "*.key"],
        censor: "[redacted]",
      },
    },
    // Synchronous writes to stdout: a line is out when the call returns, and nothing is left to
    // flush at exit (an asynchronous buffer can never flush once stdout's reader is gone).
    pino.destination({ dest: 1, sync: true }),
  );
}
