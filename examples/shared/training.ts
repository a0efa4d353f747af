/**
 * The training-loop scaffold that every example's training uses (the date translator in Node
 * and in the browser tab, the LSTM comparison, the headline model): epochs of batches, a
 * learning-rate schedule, a time budget that the run cannot overrun, progress with an ETA that
 * honours that budget, and a stop request between any two steps.
 *
 * What is the example's own: how an epoch's batches are made, what one optimizer step does
 * (`step`), and what happens at the end of an epoch (`endEpoch`: validation, keeping the best
 * weights, saving). No Node-only import: the browser page runs the same loop.
 *
 * The budget. Everything the loop does counts: optimizer steps, and every `endEpoch` (the first
 * one, "epoch 0", runs before any step: it scores the untrained model and measures what an
 * epoch's end costs). Only `measure` (extra validations that exist to draw a curve) pauses the
 * clock. Before each step the loop checks that one more step (the slowest seen so far) and one
 * more end of epoch (the slowest so far) still fit; when they do not, it ends the epoch there,
 * early, and stops. So a run ends inside its budget, not one epoch after it.
 *
 * Clocks. 'cpu' counts this process's CPU seconds (user + system), 'wall' the clock on the
 * wall. On a machine shared with other work, wall-clock time stretches with the load while CPU
 * time stays close to what the same steps take on a free core (tfjs's wasm backend runs on one
 * thread in Node), so the Node commands count CPU time by default; the browser counts wall time.
 */
import * as tf from '@tensorflow/tfjs';

/** A clock in seconds. */
export interface Clock {
  readonly name: 'cpu'|'wall';
  /** Seconds since an arbitrary origin. */
  now(): number;
}

/** Wall-clock seconds (`performance.now`). */
export function wallClock(): Clock {
  return {name: 'wall', now: () => performance.now() / 1000};
}

/** CPU seconds of this process (Node only). */
export function cpuClock(): Clock {
  if (typeof process === 'undefined' || typeof process.cpuUsage !== 'function') {
    throw new Error(`cpuClock: this runtime has no process.cpuUsage (a browser?); use the wall ` +
                    `clock. Received: clock='cpu'`);
  }
  return {name: 'cpu', now: () => {
    const {user, system} = process.cpuUsage();
    return (user + system) / 1e6;
  }};
}

/** The clock called `name` ('cpu' or 'wall'). */
export function clockNamed(name: string): Clock {
  if (name === 'cpu') {
    return cpuClock();
  }
  if (name === 'wall') {
    return wallClock();
  }
  throw new Error(`clock must be 'cpu' or 'wall'. Received: clock=${JSON.stringify(name)}`);
}

/** Arguments of {@link learningRate}. */
export interface ScheduleArgs {
  /** Peak learning rate. Required. */
  peak: number;
  /** Steps of linear warm-up from peak / warmupSteps to peak. Default 100. */
  warmupSteps?: number;
  /** Where the cosine decay ends, as a fraction of the peak. Default 0.05. */
  finalFraction?: number;
  /**
   * What the decay follows: 'steps' (step / planned steps: the same run gives the same rates on
   * any machine) or 'budget' (time used / time budget). Default 'steps'.
   */
  decayOver?: 'steps'|'budget';
}

/**
 * Linear warm-up, then cosine decay from the peak to `finalFraction` of it as `progress` goes
 * from 0 to 1: `peak · min(1, (step+1)/warmup) · (f + (1-f)·(1+cos(π·progress))/2)`.
 */
export function learningRate(args: ScheduleArgs, step: number, progress: number): number {
  const f = args.finalFraction ?? 0.05;
  const p = Math.min(1, Math.max(0, progress));
  const warm = Math.min(1, (step + 1) / Math.max(1, args.warmupSteps ?? 100));
  return args.peak * warm * (f + (1 - f) * 0.5 * (1 + Math.cos(Math.PI * p)));
}

/** Adam whose learning rate can change between steps. */
export class ScheduledAdam extends tf.AdamOptimizer {
  setLearningRate(rate: number): void {
    this.learningRate = rate;
  }
}

/** What one optimizer step reports. */
export interface StepResult {
  /** Mean loss of the batch. */
  loss: number;
  /** Examples in the batch. */
  examples: number;
  /** Of which predicted exactly right, if the step measures it. */
  right?: number;
}

/** Progress after a step, for a progress bar or a live chart. */
export interface BatchProgress {
  epoch: number;
  /** Steps done in this epoch, and the epoch's planned steps. */
  batch: number;
  batches: number;
  /** Steps done in the whole run. */
  step: number;
  /** Means over the epoch so far. */
  loss: number;
  /** Exact-match share of the epoch's batches so far (NaN when steps do not report it). */
  accuracy: number;
  /** The learning rate of the last step. */
  learningRate: number;
  /** Training examples per wall-clock second in this epoch. */
  examplesPerSecond: number;
  /** Seconds used on the budget's clock, and wall-clock seconds, since the run started. */
  elapsed: number;
  wallSeconds: number;
  /** Wall-clock seconds until this epoch ends, and until the run ends; both within the budget. */
  epochEtaSeconds: number;
  runEtaSeconds: number;
}

/** What {@link EpochEnd} gets. Epoch 0 is the untrained model, before any step. */
export interface EpochProgress {
  epoch: number;
  /** Steps done in this epoch (fewer than planned when it was cut short). */
  steps: number;
  /** Mean loss and exact match over this epoch's batches (NaN for epoch 0). */
  loss: number;
  accuracy: number;
  /** Whether the budget or a stop request cut this epoch short; it is then the last. */
  partial: boolean;
  /** Steps and examples of the whole run so far. */
  totalSteps: number;
  examples: number;
  /** Seconds on the budget's clock, and on the wall, since the run started. */
  elapsed: number;
  wallSeconds: number;
}

/** An epoch's end: validation, saving. Returns true to stop training (e.g. early stopping). */
export type EpochEnd = (info: EpochProgress) => Promise<boolean|void>|boolean|void;

/** Arguments of {@link runTraining}. */
export interface TrainingArgs<B> {
  /** Clock of the budget, the schedule's 'budget' decay and the reported time. Required. */
  clock: Clock;
  /** Most epochs. Required. */
  epochs: number;
  /** The batches of epoch `epoch` (1, 2, …), in order. Required. */
  epochBatches: (epoch: number) => B[];
  /** One optimizer step on `batch` at `learningRate`. Required. */
  step: (batch: B, learningRate: number) => Promise<StepResult>;
  /** Runs at the end of every epoch and once before the first step (epoch 0). Required. */
  endEpoch: EpochEnd;
  /** Learning-rate schedule. Required. */
  schedule: ScheduleArgs;
  /** Seconds on `clock` the run may use (steps and epoch ends). Default: no limit. */
  budgetSeconds?: number|undefined;
  /** Stop after this many steps (the epoch under way ends early). Default: no limit. */
  maxSteps?: number|undefined;
  /** Work that does not count against the budget (e.g. a curve point), every `measureEvery` s. */
  measure?: ((info: {elapsed: number, wallSeconds: number, step: number, examples: number}) =>
                 Promise<void>|void)|undefined;
  /** Seconds on `clock` between two `measure` calls. Default: never. */
  measureEvery?: number|undefined;
  /** Called after every step. */
  onBatch?: ((progress: BatchProgress) => void)|undefined;
  /** Asked before every step: true stops the run (the epoch under way ends early). */
  stopRequested?: (() => boolean)|undefined;
  /** Awaited after every step, e.g. `tf.nextFrame` so that a page can redraw. Default none. */
  yieldToEvents?: (() => Promise<void>)|undefined;
}

/** What {@link runTraining} returns. */
export interface TrainingResult {
  epochs: number;
  steps: number;
  examples: number;
  /** Seconds on the budget's clock (pauses for `measure` excluded). */
  elapsed: number;
  clock: 'cpu'|'wall';
  /** Wall-clock seconds and (in Node) CPU seconds of the run, pauses excluded. */
  wallSeconds: number;
  cpuSeconds: number|null;
  stoppedBecause: string;
}

/**
 * Measures time on a clock, with pauses that do not count, and keeps the slowest step and
 * epoch end seen so far (what the budget check assumes the next ones will cost).
 */
class Stopwatch {
  private readonly wall: Clock;
  private readonly cpu: Clock|null;
  private paused = {clock: 0, wall: 0, cpu: 0};
  private readonly start: {clock: number, wall: number, cpu: number};

  constructor(readonly clock: Clock) {
    this.wall = clock.name === 'wall' ? clock : wallClock();
    this.cpu = typeof process !== 'undefined' && typeof process.cpuUsage === 'function' ?
        cpuClock() : null;
    this.start = this.read();
  }

  private read() {
    return {clock: this.clock.now(), wall: this.wall.now(), cpu: this.cpu?.now() ?? 0};
  }

  /** Seconds on the clock since the start, pauses excluded. */
  elapsed(): number {
    return this.clock.now() - this.start.clock - this.paused.clock;
  }

  wallSeconds(): number {
    return this.wall.now() - this.start.wall - this.paused.wall;
  }

  cpuSeconds(): number|null {
    return this.cpu == null ? null : this.cpu.now() - this.start.cpu - this.paused.cpu;
  }

  /** Runs `work` with the clock stopped. */
  async pause(work: () => Promise<void>|void): Promise<void> {
    const before = this.read();
    await work();
    const after = this.read();
    this.paused.clock += after.clock - before.clock;
    this.paused.wall += after.wall - before.wall;
    this.paused.cpu += after.cpu - before.cpu;
  }
}

/**
 * Trains for `epochs` epochs or until the budget, a stop request or `endEpoch` ends it (see the
 * file comment for how the budget is counted).
 */
export async function runTraining<B>(args: TrainingArgs<B>): Promise<TrainingResult> {
  if (!(Number.isInteger(args.epochs) && args.epochs >= 1)) {
    throw new Error(`runTraining: epochs must be a positive integer. Received: epochs=${
        args.epochs}`);
  }
  const budget = args.budgetSeconds;
  if (budget != null && !(budget > 0)) {
    throw new Error(`runTraining: budgetSeconds must be positive (or left out for no limit). ` +
                    `Received: budgetSeconds=${budget}`);
  }
  const watch = new Stopwatch(args.clock);
  let slowestStep = 0;
  let slowestEnd = 0;
  let meanStep = 0;  // running mean, on the budget's clock
  let steps = 0;
  let examples = 0;
  let plannedSteps = 0;
  let nextMeasure = args.measureEvery ?? Infinity;
  let stoppedBecause = `all ${args.epochs} epochs done`;

  /** Wall-clock seconds per second on the budget's clock, so far. */
  const wallPerClock = () => {
    const e = watch.elapsed();
    return e > 0 ? watch.wallSeconds() / e : 1;
  };
  const endEpoch = async (info: Omit<EpochProgress, 'elapsed'|'wallSeconds'|'totalSteps'|
                                     'examples'>): Promise<boolean> => {
    const started = watch.elapsed();
    const stop = await args.endEpoch({...info, totalSteps: steps, examples,
                                      elapsed: started, wallSeconds: watch.wallSeconds()});
    slowestEnd = Math.max(slowestEnd, watch.elapsed() - started);
    return stop === true;
  };

  if (await endEpoch({epoch: 0, steps: 0, loss: NaN, accuracy: NaN, partial: false})) {
    return finish('endEpoch asked to stop before training', 0);
  }
  let epoch: number;
  outer: for (epoch = 1; epoch <= args.epochs; epoch++) {
    const batches = args.epochBatches(epoch);
    if (plannedSteps === 0) {
      plannedSteps = Math.min(batches.length * args.epochs, args.maxSteps ?? Infinity);
    }
    let lossSum = 0;
    let right = 0;
    let counted = 0;
    let measured = true;
    const epochWall = watch.wallSeconds();
    for (let b = 0; b < batches.length; b++) {
      const reason = args.stopRequested?.() === true ? 'stopped on request' :
          steps >= (args.maxSteps ?? Infinity) ? `${args.maxSteps} steps done` :
          budget != null && watch.elapsed() + slowestStep + slowestEnd > budget ?
          `time budget of ${budget} s (${args.clock.name} time) reached` : null;
      if (reason != null) {
        stoppedBecause = reason;
        if (b > 0) {
          await endEpoch({epoch, steps: b, loss: lossSum / counted,
                          accuracy: measured ? right / counted : NaN, partial: true});
        } else {
          epoch--;
        }
        break outer;
      }
      const progress = args.schedule.decayOver === 'budget' && budget != null ?
          watch.elapsed() / budget : steps / plannedSteps;
      const rate = learningRate(args.schedule, steps, progress);
      const started = watch.elapsed();
      const result = await args.step(batches[b]!, rate);
      const cost = watch.elapsed() - started;
      slowestStep = Math.max(slowestStep, cost);
      steps++;
      meanStep += (cost - meanStep) / steps;
      examples += result.examples;
      counted += result.examples;
      lossSum += result.loss * result.examples;
      if (result.right == null) {
        measured = false;
      } else {
        right += result.right;
      }
      if (args.onBatch != null) {
        const elapsed = watch.elapsed();
        const left = budget == null ? Infinity : Math.max(0, budget - elapsed);
        const epochLeft = Math.min(left, (batches.length - b - 1) * meanStep + slowestEnd);
        const runLeft = Math.min(left, (plannedSteps - steps) * meanStep +
                                           (args.epochs - epoch + 1) * slowestEnd);
        const ratio = wallPerClock();
        const wall = watch.wallSeconds();
        args.onBatch({
          epoch, batch: b + 1, batches: batches.length, step: steps, loss: lossSum / counted,
          accuracy: measured ? right / counted : NaN, learningRate: rate,
          examplesPerSecond: counted / Math.max(1e-9, wall - epochWall), elapsed,
          wallSeconds: wall, epochEtaSeconds: epochLeft * ratio, runEtaSeconds: runLeft * ratio,
        });
      }
      if (args.measure != null && watch.elapsed() >= nextMeasure) {
        const at = {elapsed: watch.elapsed(), wallSeconds: watch.wallSeconds(), step: steps,
                    examples};
        await watch.pause(() => args.measure!(at));
        while (nextMeasure <= at.elapsed) {
          nextMeasure += args.measureEvery!;
        }
      }
      await args.yieldToEvents?.();
    }
    if (await endEpoch({epoch, steps: batches.length, loss: lossSum / counted,
                        accuracy: measured ? right / counted : NaN, partial: false})) {
      stoppedBecause = `stopped after epoch ${epoch} (early stopping or target reached)`;
      break;
    }
  }
  return finish(stoppedBecause, Math.min(epoch, args.epochs));

  function finish(reason: string, epochsDone: number): TrainingResult {
    return {epochs: epochsDone, steps, examples, elapsed: watch.elapsed(), clock: args.clock.name,
            wallSeconds: watch.wallSeconds(), cpuSeconds: watch.cpuSeconds(),
            stoppedBecause: reason};
  }
}

/** `[=====>    ]`, `done` of `total`. */
export function progressBar(done: number, total: number, width = 24): string {
  const filled = Math.max(0, Math.min(width, Math.round((done / Math.max(1, total)) * width)));
  return '[' + '='.repeat(Math.max(0, filled - 1)) + (filled > 0 ? '>' : '') +
         ' '.repeat(width - filled) + ']';
}

/** 75 → '1m15s', 3700 → '1h01m', 8 → '8s'. */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) {
    return '?';
  }
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) {
    return `${s}s`;
  }
  if (s < 3600) {
    return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  }
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
}

/** One progress line: `epoch 3/12 [===>   ] 120/262 loss 0.1234 acc 97.10% 410 ex/s ETA 35s (run 4m02s)`. */
export function progressLine(p: BatchProgress, epochs: number): string {
  const accuracy = Number.isNaN(p.accuracy) ? '' : ` acc ${(100 * p.accuracy).toFixed(2)}%`;
  return `epoch ${p.epoch}/${epochs} ${progressBar(p.batch, p.batches)} ${p.batch}/${
      p.batches} loss ${p.loss.toFixed(4)}${accuracy} ${Math.round(p.examplesPerSecond)} ex/s ` +
      `ETA ${duration(p.epochEtaSeconds)} (run ${duration(p.runEtaSeconds)})`;
}

/**
 * A progress printer for a terminal (one line rewritten in place) or a log (a line every
 * `every` steps and at an epoch's end), on stderr so that stdout keeps only results.
 */
export function progressPrinter(epochs: number, every = 50,
                                stream: NodeJS.WriteStream = process.stderr):
    (p: BatchProgress) => void {
  return p => {
    const line = progressLine(p, epochs);
    if (stream.isTTY) {
      stream.write(`\r${line}\x1b[K${p.batch === p.batches ? '\n' : ''}`);
    } else if (p.batch === p.batches || p.batch % every === 0) {
      stream.write(`${line}\n`);
    }
  };
}
