import { addDays, eachDay } from "../../common/dates";
import { findAnomalies, medianOf } from "../anomaly";

const START = "2026-11-01";
/** A series of daily values from START. */
const series = (values: readonly number[]) => new Map(values.map((v, i) => [addDays(START, i), v]));
const allDays = (n: number) => eachDay(START, addDays(START, n - 1));

describe("anomaly detection", () => {
  it("finds a day above 3 × the median of the 14 days before it, and only that day", () => {
    const values = [10, 12, 9, 11, 10, 13, 8, 10, 11, 12, 9, 10, 11, 10, 50, 10, 11];
    expect(findAnomalies(series(values), allDays(values.length))).toEqual([{ day: addDays(START, 14), value: 50, median: 10 }]);
  });

  it("finds nothing in a flat series, however long", () => {
    expect(findAnomalies(series(Array(40).fill(25)), allDays(40))).toEqual([]);
  });

  it("finds nothing when the median of the 14 days before is 0, even after a burst", () => {
    // Mostly idle: 8 of 14 days at 0, so any use at all would be "infinitely" many medians.
    const values = [0, 0, 5, 0, 0, 7, 0, 0, 3, 0, 4, 0, 6, 2, 500];
    expect(findAnomalies(series(values), allDays(values.length))).toEqual([]);
  });

  it("needs strictly more than 3 × the median", () => {
    const base = Array(14).fill(10);
    expect(findAnomalies(series([...base, 30]), allDays(15))).toEqual([]);
    expect(findAnomalies(series([...base, 30.5]), allDays(15))).toHaveLength(1);
  });

  it("judges a day only with all 14 days before it known: a gap is not a zero", () => {
    const values = series([...Array(14).fill(10), 100]);
    values.delete(addDays(START, 3));
    expect(findAnomalies(values, allDays(15))).toEqual([]);
    // Fewer than 14 days of history: not judged either.
    expect(findAnomalies(series([10, 10, 10, 100]), allDays(4))).toEqual([]);
  });

  it("takes the median of an even count as the mean of the middle two", () => {
    expect(medianOf([1, 2, 3, 10])).toBe(2.5);
    expect(medianOf([4, 1, 3])).toBe(3);
  });
});
