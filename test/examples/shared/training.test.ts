/**
 * The training-loop scaffold (examples/shared/training.ts) on a clock the test moves by hand:
 * a run never ends past its budget (the epoch under way is cut short instead), the ETA never
 * promises more than the budget left, `measure` stops the clock, the learning rate warms up
 * and decays over the planned steps or the budget, and a stop request or `maxSteps` ends the
 * run between two steps.
 */
import {BatchProgress, Clock, duration, EpochProgress, learningRate, progressBar, progressLine,
        runTraining, TrainingArgs} from '../../../examples/shared/training';

/** A clock that only moves when the test says so. */
function manualClock(): Clock & {advance(seconds: number): void} {
  let now = 0;
  return {name: 'wall', now: () => now, advance: (s: number) => {
    now += s;
  }};
}

/** A run whose steps cost `stepCost(step)` s and whose epoch ends cost `endCost` s. */
function fakeRun(over: Partial<TrainingArgs<number>> & {stepCost?: (step: number) => number,
                                                        endCost?: number} = {}) {
  const clock = manualClock();
  const ends: EpochProgress[] = [];
  const progress: BatchProgress[] = [];
  const rates: number[] = [];
  let step = 0;
  const args: TrainingArgs<number> = {
    clock, epochs: 5, epochBatches: () => Array.from({length: 10}, (_, i) => i),
    schedule: {peak: 1, warmupSteps: 1, finalFraction: 0},
    step: async (_batch, rate) => {
      rates.push(rate);
      clock.advance(over.stepCost?.(step++) ?? 1);
      return {loss: 1 / step, examples: 4, right: 2};
    },
    endEpoch: e => {
      ends.push(e);
      clock.advance(over.endCost ?? 3);
    },
    onBatch: p => progress.push(p),
    ...over,
  };
  return {clock, ends, progress, rates, run: () => runTraining(args)};
}

describe('runTraining', () => {
  it('runs every epoch, with an epoch 0 before the first step', async () => {
    const f = fakeRun();
    const result = await f.run();
    expect(result).toMatchObject({epochs: 5, steps: 50, examples: 200, stoppedBecause: 'all 5 epochs done'});
    expect(f.ends.map(e => [e.epoch, e.steps, e.partial])).toEqual(
        [[0, 0, false], [1, 10, false], [2, 10, false], [3, 10, false], [4, 10, false], [5, 10, false]]);
    expect(f.ends[1]).toMatchObject({accuracy: 0.5, totalSteps: 10, examples: 40});
    expect(result.elapsed).toBe(50 + 6 * 3);
  });

  it('ends inside its budget: cuts the epoch short when a step and an epoch end no longer fit', async () => {
    for (const budget of [20, 25.5, 37, 44]) {
      const f = fakeRun({budgetSeconds: budget, stepCost: s => (s % 3 === 0 ? 1.5 : 1)});
      const result = await f.run();
      expect(result.elapsed).toBeLessThanOrEqual(budget);
      // Nothing else would have fitted: one more (slowest) step and end of epoch.
      expect(result.elapsed + 1.5 + 3).toBeGreaterThan(budget);
      expect(result.stoppedBecause).toBe(`time budget of ${budget} s (wall time) reached`);
      // Cut inside an epoch: that epoch ends early, marked partial; at an epoch's start, the
      // last end is the previous full epoch.
      const last = f.ends[f.ends.length - 1]!;
      expect(last.partial).toBe(result.steps % 10 !== 0);
      expect(last.steps).toBe(result.steps % 10 === 0 ? 10 : result.steps % 10);
      for (const p of f.progress) {
        expect(p.runEtaSeconds).toBeLessThanOrEqual(budget - p.elapsed + 1e-9);
        expect(p.epochEtaSeconds).toBeLessThanOrEqual(p.runEtaSeconds + 1e-9);
      }
    }
  });

  it('an ETA without a budget counts the steps and epoch ends left', async () => {
    const f = fakeRun({epochs: 2});
    await f.run();
    const first = f.progress[0]!;
    // After 1 of 20 steps at 1 s: 9 more steps + this epoch's end; the run adds epoch 2.
    expect(first.epochEtaSeconds).toBeCloseTo(9 + 3);
    expect(first.runEtaSeconds).toBeCloseTo(19 + 2 * 3);
  });

  it('measure stops the clock', async () => {
    const measured: number[] = [];
    let clockRef: ReturnType<typeof manualClock>|null = null;
    const f = fakeRun({epochs: 1, measureEvery: 4, measure: at => {
      measured.push(at.elapsed);
      clockRef!.advance(100);  // scoring that must not count
    }});
    clockRef = f.clock;
    const result = await f.run();
    expect(measured).toEqual([4, 8, 12]);  // epoch 0 (3 s) + 1, 5 and 9 steps of 1 s
    expect(result.elapsed).toBe(3 + 10 + 3);
    expect(f.clock.now()).toBe(3 + 10 + 3 + 300);
  });

  it('warms up, then decays over the planned steps', async () => {
    const f = fakeRun({epochs: 2, schedule: {peak: 2, warmupSteps: 4, finalFraction: 0.1}});
    await f.run();
    expect(f.rates).toHaveLength(20);
    expect(f.rates[0]).toBeCloseTo(2 * 0.25 * learningRate({peak: 1, warmupSteps: 1, finalFraction: 0.1}, 0, 0));
    expect(f.rates[3]).toBeCloseTo(learningRate({peak: 2, warmupSteps: 4, finalFraction: 0.1}, 3, 3 / 20));
    expect(f.rates[19]).toBeCloseTo(learningRate({peak: 2, warmupSteps: 4, finalFraction: 0.1}, 19, 19 / 20));
    expect(f.rates[19]!).toBeLessThan(f.rates[10]!);
  });

  it("decays over the budget with decayOver: 'budget'", async () => {
    const f = fakeRun({epochs: 100, budgetSeconds: 40, endCost: 0,
                       schedule: {peak: 1, warmupSteps: 1, finalFraction: 0, decayOver: 'budget'}});
    await f.run();
    expect(f.rates[0]).toBeCloseTo(1);
    expect(f.rates[20]).toBeCloseTo(0.5, 5);  // 20 s of 40: half way down the cosine
  });

  it('stops between two steps when asked, or after maxSteps', async () => {
    let steps = 0;
    const f = fakeRun({stopRequested: () => steps++ >= 13});
    const result = await f.run();
    expect(result).toMatchObject({steps: 13, stoppedBecause: 'stopped on request'});
    expect(f.ends[f.ends.length - 1]).toMatchObject({epoch: 2, steps: 3, partial: true});

    const g = fakeRun({maxSteps: 25});
    expect(await g.run()).toMatchObject({steps: 25, stoppedBecause: '25 steps done'});
  });

  it('endEpoch can stop the run (early stopping)', async () => {
    const ends: number[] = [];
    const result = await runTraining<number>({
      clock: manualClock(), epochs: 5, epochBatches: () => [1, 2],
      schedule: {peak: 1}, step: async () => ({loss: 1, examples: 1}),
      endEpoch: e => {
        ends.push(e.epoch);
        return e.epoch === 2;
      },
    });
    expect(ends).toEqual([0, 1, 2]);
    expect(result.epochs).toBe(2);
    expect(result.stoppedBecause).toMatch(/after epoch 2/);
  });

  it('rejects bad arguments, naming them', async () => {
    const args = {clock: manualClock(), epochBatches: () => [], schedule: {peak: 1},
                  step: async () => ({loss: 0, examples: 0}), endEpoch: () => undefined};
    await expect(runTraining({...args, epochs: 0})).rejects.toThrow('epochs must be a positive integer. Received: epochs=0');
    await expect(runTraining({...args, epochs: 1, budgetSeconds: -1})).rejects.toThrow(/budgetSeconds=-1/);
  });
});

describe('progress text', () => {
  it('bars, durations and the progress line', () => {
    expect(progressBar(0, 10, 10)).toBe('[          ]');
    expect(progressBar(5, 10, 10)).toBe('[====>     ]');
    expect(progressBar(10, 10, 10)).toBe('[=========>]');
    expect([8, 75, 3700, Infinity].map(duration)).toEqual(['8s', '1m15s', '1h01m', '?']);
    expect(progressLine({epoch: 2, batch: 5, batches: 10, step: 15, loss: 0.12345, accuracy: 0.5,
                         learningRate: 1, examplesPerSecond: 99.6, elapsed: 10, wallSeconds: 10,
                         epochEtaSeconds: 35, runEtaSeconds: 242}, 12))
        .toBe('epoch 2/12 [===========>            ] 5/10 loss 0.1235 acc 50.00% 100 ex/s ETA 35s (run 4m02s)');
  });
});
