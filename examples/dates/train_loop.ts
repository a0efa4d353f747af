/**
 * The training loop shared by `train.ts` (the Transformer) and `compare.ts` (Transformer and
 * LSTM baseline with equal time budgets): Adam with warm-up and cosine decay, length-bucketed
 * batches, validation after every epoch (and, optionally, every few seconds of training),
 * early stopping, and the best weights kept and restored.
 *
 * Training time counts only the optimizer steps, never evaluation or saving. It is measured two
 * ways: wall-clock seconds, and CPU seconds of this process (user + system). On a machine
 * shared with other work the wall clock stretches with the load while CPU time stays close to
 * what the same steps take on an idle core (the wasm backend runs on one thread in Node), so
 * time budgets and the schedule use CPU time unless `clock: 'wall'`.
 */
import * as tf from '@tensorflow/tfjs';

import {Day, epochExamples, Example, random} from './data';
import {evaluate, exactMatches, makeBatch, sequenceLoss} from './model';
import {lengthBatches, Vocab} from './vocab';

/** Adam whose learning rate can change between steps. */
class ScheduledAdam extends tf.AdamOptimizer {
  setLearningRate(rate: number): void {
    this.learningRate = rate;
  }
}

/** Progress inside an epoch, for a progress bar. */
export interface BatchInfo {
  epoch: number;
  batch: number;
  batches: number;
  /** Running means over the epoch so far. */
  loss: number;
  /** Exact-match rate of the epoch's training batches so far (teacher forcing). */
  accuracy: number;
  /** Training examples per second in this epoch. */
  examplesPerSecond: number;
  /** Seconds left in this epoch at the current speed. */
  etaSeconds: number;
}

/** What happened in one epoch. */
export interface EpochInfo {
  epoch: number;
  loss: number;
  accuracy: number;
  /** Exact match on the validation examples. */
  validationAccuracy: number;
  /** Seconds of training (optimizer steps only, on the budget's clock) since the start. */
  trainSeconds: number;
  /** The same in wall-clock seconds. */
  wallSeconds: number;
  improved: boolean;
}

/** A point of the accuracy-versus-training-time curve. */
export interface CurvePoint {
  trainSeconds: number;
  wallSeconds: number;
  examples: number;
  validationAccuracy: number;
}

/** Arguments of {@link trainLoop}. */
export interface TrainLoopArgs {
  model: tf.LayersModel;
  vocab: Vocab;
  /** Training days; every epoch shows each once, in a random format. */
  trainDays: Day[];
  /** Fixed validation examples (early stopping, curve). */
  validation: Example[];
  /** Most epochs. Default 20. */
  epochs?: number|undefined;
  /** Default 128. */
  batchSize?: number|undefined;
  /** Peak learning rate. Default 2e-3. */
  learningRate?: number|undefined;
  /** Linear warm-up steps. Default 100. */
  warmupSteps?: number|undefined;
  /** Stop after this many seconds of training (the schedule decays to reach it). Default none. */
  timeBudgetSeconds?: number|undefined;
  /** Epochs without validation improvement before stopping. Default 3. */
  patience?: number|undefined;
  /** Stop once validation exact match reaches this. Default 1 (never early). */
  targetAccuracy?: number|undefined;
  /** Input padding: 'post' with a mask input (Transformer), 'pre' without (LSTM). */
  padding?: 'post'|'pre'|undefined;
  withMask?: boolean|undefined;
  /** Also validate every this many seconds of training (for the curve). Default: epochs only. */
  curveEverySeconds?: number|undefined;
  /** Examples of the curve's points. Default: `validation`. */
  curveValidation?: Example[]|undefined;
  /** Clock of trainSeconds, the budget and the schedule: 'cpu' (process CPU time) or 'wall'. Default 'cpu'. */
  clock?: 'cpu'|'wall'|undefined;
  /** Seed of the epochs' shuffles and formats. Default 1. */
  seed?: number|undefined;
  onBatch?: ((info: BatchInfo) => void)|undefined;
  onEpoch?: ((info: EpochInfo) => void | Promise<void>)|undefined;
}

export interface TrainResult {
  epochs: EpochInfo[];
  curve: CurvePoint[];
  /** Training time on the chosen clock. */
  trainSeconds: number;
  wallSeconds: number;
  cpuSeconds: number;
  clock: 'cpu'|'wall';
  bestValidationAccuracy: number;
  stoppedBecause: string;
}

/** Trains `model` in place; at the end it holds the weights of the best validation epoch. */
export async function trainLoop(args: TrainLoopArgs): Promise<TrainResult> {
  const {model, vocab} = args;
  const epochs = args.epochs ?? 20;
  const batchSize = args.batchSize ?? 128;
  const peak = args.learningRate ?? 2e-3;
  const warmup = args.warmupSteps ?? 100;
  const patience = args.patience ?? 3;
  const padding = args.padding ?? 'post';
  const withMask = args.withMask ?? padding === 'post';
  const next = random(args.seed ?? 1);
  const stepsPerEpoch = Math.ceil(args.trainDays.length / batchSize);
  const totalSteps = epochs * stepsPerEpoch;
  const optimizer = new ScheduledAdam(peak, 0.9, 0.98, 1e-8);
  const variables = model.trainableWeights.map(w => w.read() as tf.Variable);

  const validate = (examples = args.validation) => {
    const right = evaluate(model, vocab, examples, {padding, withMask});
    return right.filter(Boolean).length / right.length;
  };
  const curveValidate = () => validate(args.curveValidation ?? args.validation);

  const clock = args.clock ?? 'cpu';
  const result: TrainResult = {epochs: [], curve: [], trainSeconds: 0, wallSeconds: 0,
                               cpuSeconds: 0, clock,
                               bestValidationAccuracy: -1, stoppedBecause: 'all epochs done'};
  let best: tf.Tensor[] = [];
  let sinceBest = 0;
  let step = 0;
  let seen = 0;
  let nextCurve = args.curveEverySeconds ?? Infinity;
  result.curve.push({trainSeconds: 0, wallSeconds: 0, examples: 0,
                     validationAccuracy: curveValidate()});

  outer: for (let epoch = 1; epoch <= epochs; epoch++) {
    const batches = lengthBatches(epochExamples(args.trainDays, next), batchSize, next);
    let lossSum = 0;
    let right = 0;
    let count = 0;
    let epochSeconds = 0;
    for (let b = 0; b < batches.length; b++) {
      // Learning rate: linear warm-up, then cosine decay to 5% over the epochs or the budget.
      const budget = args.timeBudgetSeconds;
      const progress = Math.min(1, Math.max(step / totalSteps,
                                            budget ? result.trainSeconds / budget : 0));
      const decay = 0.05 + 0.95 * 0.5 * (1 + Math.cos(Math.PI * progress));
      optimizer.setLearningRate(peak * Math.min(1, (step + 1) / warmup) * decay);

      const started = performance.now();
      const cpuStarted = process.cpuUsage();
      const batch = makeBatch(vocab, batches[b]!, padding, withMask);
      let logits: tf.Tensor|null = null;
      const loss = optimizer.minimize(() => {
        const out = model.apply(batch.inputs, {training: true}) as tf.Tensor;
        logits = tf.keep(out);
        return sequenceLoss(out, batch.labels);
      }, true, variables)!;
      const lossValue = (await loss.data())[0]!;
      const ok = exactMatches(logits!, batch.labels);
      tf.dispose([loss, logits!, batch.inputs, batch.labels]);
      const wall = (performance.now() - started) / 1000;
      const cpuUsed = process.cpuUsage(cpuStarted);
      const cpu = (cpuUsed.user + cpuUsed.system) / 1e6;
      result.wallSeconds += wall;
      result.cpuSeconds += cpu;
      result.trainSeconds += clock === 'cpu' ? cpu : wall;
      epochSeconds += wall;
      step++;
      seen += ok.length;
      lossSum += lossValue * ok.length;
      right += ok.filter(Boolean).length;
      count += ok.length;
      const speed = count / epochSeconds;
      args.onBatch?.({epoch, batch: b + 1, batches: batches.length, loss: lossSum / count,
                      accuracy: right / count, examplesPerSecond: speed,
                      etaSeconds: (args.trainDays.length - count) / speed});
      if (result.trainSeconds >= nextCurve) {
        result.curve.push({trainSeconds: result.trainSeconds, wallSeconds: result.wallSeconds,
                           examples: seen, validationAccuracy: curveValidate()});
        nextCurve += args.curveEverySeconds!;
      }
      if (budget != null && result.trainSeconds >= budget) {
        result.stoppedBecause = `time budget of ${budget} s (${clock} time) reached`;
        await endEpoch(epoch, lossSum / count, right / count);
        break outer;
      }
    }
    if (await endEpoch(epoch, lossSum / count, right / count)) {
      break;
    }
  }

  /** Validates, keeps the best weights; true when training should stop. */
  async function endEpoch(epoch: number, loss: number, accuracy: number): Promise<boolean> {
    const validationAccuracy = validate();
    const last = result.curve[result.curve.length - 1]!;
    if (last.trainSeconds !== result.trainSeconds) {
      result.curve.push({trainSeconds: result.trainSeconds, wallSeconds: result.wallSeconds,
                         examples: seen, validationAccuracy: args.curveValidation == null ?
                             validationAccuracy : curveValidate()});
    }
    const improved = validationAccuracy > result.bestValidationAccuracy;
    if (improved) {
      result.bestValidationAccuracy = validationAccuracy;
      tf.dispose(best);
      best = model.getWeights().map(w => w.clone());
      sinceBest = 0;
    } else {
      sinceBest++;
    }
    const info = {epoch, loss, accuracy, validationAccuracy, trainSeconds: result.trainSeconds,
                  wallSeconds: result.wallSeconds, improved};
    result.epochs.push(info);
    await args.onEpoch?.(info);
    if (validationAccuracy >= (args.targetAccuracy ?? 1)) {
      result.stoppedBecause = `validation accuracy reached ${args.targetAccuracy ?? 1}`;
      return true;
    }
    if (sinceBest >= patience) {
      result.stoppedBecause = `no improvement for ${patience} epochs (early stopping)`;
      return true;
    }
    return false;
  }

  if (best.length > 0) {
    model.setWeights(best);
    tf.dispose(best);
  }
  optimizer.dispose();
  return result;
}
