import { forecastOf, periodOf, periodsOver } from "../budget.period";
import { stateOf } from "../budget.service";
import { BudgetState } from "../alert.model";
import { thresholdMessage } from "../alert.message";

describe("budget periods", () => {
  it("are the day, the ISO week (Monday first) and the calendar month of a day", () => {
    expect(periodOf("2026-11-24", "DAY")).toEqual({ from: "2026-11-24", to: "2026-11-24" });
    // 2026-11-24 is a Tuesday; 2026-11-29 a Sunday.
    expect(periodOf("2026-11-24", "WEEK")).toEqual({ from: "2026-11-23", to: "2026-11-29" });
    expect(periodOf("2026-11-29", "WEEK")).toEqual({ from: "2026-11-23", to: "2026-11-29" });
    expect(periodOf("2026-11-24", "MONTH")).toEqual({ from: "2026-11-01", to: "2026-11-30" });
    expect(periodOf("2028-02-10", "MONTH")).toEqual({ from: "2028-02-01", to: "2028-02-29" });
  });

  it("list every period that overlaps a range, oldest first", () => {
    expect(periodsOver({ from: "2026-10-30", to: "2026-12-01" }, "MONTH")).toEqual([
      { from: "2026-10-01", to: "2026-10-31" },
      { from: "2026-11-01", to: "2026-11-30" },
      { from: "2026-12-01", to: "2026-12-31" },
    ]);
    expect(periodsOver({ from: "2026-11-24", to: "2026-11-25" }, "DAY")).toHaveLength(2);
  });
});

describe("the forecast", () => {
  it("is the use so far plus its mean daily use times the days left", () => {
    // 24 days of November used 4,120: 171.67 a day, 6 days left.
    expect(forecastOf(4120, { from: "2026-11-01", to: "2026-11-30" }, "2026-11-24")).toBeCloseTo(4120 + (4120 / 24) * 6, 9);
    expect(forecastOf(300, { from: "2026-11-01", to: "2026-11-30" }, "2026-11-30")).toBe(300);
  });
});

describe("the state of a budget", () => {
  it("is WARNING from the first threshold below 1 and EXCEEDED from 1", () => {
    const thresholds = [0.5, 0.8, 1, 1.5];
    expect(stateOf(0.49, thresholds)).toBe(BudgetState.OK);
    expect(stateOf(0.5, thresholds)).toBe(BudgetState.WARNING);
    expect(stateOf(0.99, thresholds)).toBe(BudgetState.WARNING);
    expect(stateOf(1, thresholds)).toBe(BudgetState.EXCEEDED);
    // With no threshold below 1 there is no warning.
    expect(stateOf(0.95, [1])).toBe(BudgetState.OK);
  });
});

describe("a threshold message", () => {
  it("reads as a sentence with grouped numbers, the percentage and the forecast", () => {
    const dimensions = [{ key: "api" as const, value: "8a2d", label: "Claude Messages" }];
    expect(
      thresholdMessage({
        name: "Ace Data credits",
        dimensions,
        used: 4120,
        amount: 5000,
        day: "2026-11-24",
        threshold: 0.8,
        forecast: 5310.2,
        periodEnd: "2026-11-30",
      }),
    ).toBe("Ace Data credits for Claude Messages: 4,120 of 5,000 (82 %) on 2026-11-24, forecast 5,310 by 2026-11-30");
    expect(
      thresholdMessage({
        name: "Pipefy API-call quota",
        dimensions: [],
        used: 50_100,
        amount: 50_000,
        day: "2026-11-30",
        threshold: 1,
        forecast: 50_100,
        periodEnd: "2026-11-30",
      }),
    ).toBe("Pipefy API-call quota: 50,100 of 50,000 (100 %) on 2026-11-30, over budget");
  });
});
