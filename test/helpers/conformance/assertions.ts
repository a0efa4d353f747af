/** Jest assertions over the runner's reports, shared by the Node and the browser tests. */
import {CaseReport, FitReport} from './runner';

/** Fails with every failing check of the case spelled out. */
export function expectCasePasses(report: CaseReport|undefined, name: string): void {
  if (report == null) {
    throw new Error(`no report for case '${name}'`);
  }
  const failures = report.checks.filter(c => !c.ok).map(c =>
      `${c.what}: max |diff| ${c.maxAbsDiff.toExponential(2)}, over tolerance by ${
          c.worstExcess.toExponential(2)}, non-finite ${c.nonFinite}, masked weights not exactly 0: ${
          c.notExactZero}`);
  expect(failures).toEqual([]);
  expect(report.checks.length).toBeGreaterThanOrEqual(3);
  expect(report.leakedTensors).toBe(0);
}

export function expectFitWorks(fit: FitReport): void {
  expect(Number.isFinite(fit.lossAfter)).toBe(true);
  expect(fit.lossAfter).toBeLessThan(0.8 * fit.lossBefore);
  expect(fit.memoryAfterLastEpoch).toEqual(fit.memoryAfterFirstEpoch);
  expect(fit.leftAfterDispose).toBe(0);
}
