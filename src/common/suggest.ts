/**
 * The known name nearest to a mistyped one, for "did you mean" hints; undefined when nothing is
 * close. A dotted key (`acedata.calls`) whose prefix is a known prefix is compared only with the
 * names under that prefix, and always gets the nearest of them: someone who typed the provider
 * right wants that provider's metric. Otherwise a name is close when at most about a third of its
 * letters differ, compared whole or by the part after the dot (`credits` → `acedata.credits`).
 */
export function nearest(input: string, known: readonly string[]): string | undefined {
  const typed = input.toLowerCase();
  const dot = typed.indexOf(".");
  if (dot > 0) {
    const prefix = typed.slice(0, dot + 1);
    const family = known.filter((k) => k.toLowerCase().startsWith(prefix));
    if (family.length > 0) return closest(typed, family).name;
  }
  const best = closest(typed, known);
  return best.name !== undefined && best.distance <= Math.max(1, Math.ceil(typed.length / 3)) ? best.name : undefined;
}

function closest(typed: string, known: readonly string[]): { name: string | undefined; distance: number } {
  let name: string | undefined;
  let distance = Infinity;
  for (const k of known) {
    const lower = k.toLowerCase();
    const tail = lower.slice(lower.indexOf(".") + 1);
    const d = Math.min(editDistance(typed, lower), typed.includes(".") ? Infinity : editDistance(typed, tail));
    if (d < distance) ({ name, distance } = { name: k, distance: d });
  }
  return { name, distance };
}

/** Levenshtein distance with adjacent transpositions (optimal string alignment). */
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}
