/** A message fit for one log line: whitespace collapsed, cut to 300 characters. */
export function oneLine(message: string): string {
  const line = message.replace(/\s+/g, " ").trim();
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
}

/**
 * The message without the URL's password, raw or percent-decoded: a second line of defence for
 * text a driver wrote, which the messages built here never quote the password in.
 */
export function withoutPassword(message: string, url: string): string {
  let password = "";
  try {
    password = new URL(url).password;
  } catch {
    password = /\/\/[^/:@]*:([^@]*)@/.exec(url)?.[1] ?? "";
  }
  if (password === "") return message;
  let decoded = password;
  try {
    decoded = decodeURIComponent(password);
  } catch {
    // Not valid percent-encoding: only the raw form can appear.
  }
  let out = message;
  for (const secret of new Set([password, decoded])) out = out.split(secret).join("***");
  return out;
}

/** The `code` of a Node system error, or of the first error of an AggregateError (IPv4 and IPv6 both refused). */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") return code;
  const inner = (error as { errors?: unknown }).errors;
  return Array.isArray(inner) ? errorCode(inner[0]) : undefined;
}
