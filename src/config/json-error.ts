/**
 * Where a JSON text stops being JSON, as a line and column a person can go to, and V8's reason
 * without its offset: `line 4, column 3: Expected double-quoted property name`.
 *
 * Node 20's V8 gives an offset for some mistakes ("… in JSON at position 42") and none for others
 * ("Unexpected token '}', "…" is not valid JSON"). Without one, the mistake is found as the first
 * prefix of the text that fails for another reason than ending too early: it ends at the mistake.
 * That is quadratic in the worst case, which is nothing for a config file.
 */
export function describeJsonError(text: string, error: Error): string {
  const offset = errorOffset(text, error.message);
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  const column = offset - (before.lastIndexOf("\n") + 1) + 1;
  return `line ${line}, column ${column}: ${reason(error.message)}`;
}

function errorOffset(text: string, message: string): number {
  const at = /at position (\d+)/.exec(message);
  if (at) return Math.min(Number(at[1]), text.length);
  if (/end of JSON input/.test(message)) return text.length;
  for (let end = 1; end <= text.length; end++) {
    try {
      JSON.parse(text.slice(0, end));
    } catch (e) {
      const m = (e as Error).message;
      const position = /at position (\d+)/.exec(m);
      const endedEarly = /end of JSON input/.test(m) || (position !== null && Number(position[1]) >= end);
      if (!endedEarly) return position ? Number(position[1]) : end - 1;
    }
  }
  return text.length;
}

/** V8's message without where it happened (we say that) or a copy of the text (which could hold a secret). */
function reason(message: string): string {
  return message
    .replace(/, (?:\.\.\.)?".*is not valid JSON$/s, "")
    .replace(/ at position \d+.*$/s, "")
    .replace(/ in JSON$/, "")
    .replace(/\s*\(line \d+ column \d+\)/, "")
    .trim();
}
