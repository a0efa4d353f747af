/**
 * Training a date model: the example's part of the shared scaffold (../shared/training.ts),
 * used by `train.ts` (the Transformer), `compare.ts` (Transformer and LSTM baseline on equal
 * budgets) and the browser page (training in the tab). No Node-only import.
 *
 * Each epoch shows every training day once, in a random format and variant; batches group
 * inputs of similar length. Each step is one Adam update on the mean cross-entropy of the
 * output characters under teacher forcing, and measures the batch's exact match on the way. At
 * the end of each epoch (when `validation` is given) the model is scored on the validation
 * examples, the best weights are kept, and training stops early after `patience` epochs without
 * improvement or once `targetAccuracy` is reached; at the end the model holds the best weights.
 */
import * as tf from '@tensorflow/tfjs';

import {BatchProgress, Clock, runTraining, ScheduleArgs, ScheduledAdam, TrainingResult} from '../shared/training';
import {Day, epochExamples, Example, random, VariantArgs} from './data';
import {evaluate, exactMatches, makeBatch, ModelInputs, sequenceLoss} from './model';
import {lengthBatches, Vocab} from './vocab';

/** What happened in one epoch. */
export interface EpochInfo {
  epoch: number;
  loss: number;
  accuracy: number;
  /** Exact match on the validation examples (NaN without validation). */
  validationAccuracy: number;
  /** Seconds on the budget's clock since the start, and on the wall. */
  trainSeconds: number;
  wallSeconds: number;
  examples: number;
  improved: boolean;
  /** Cut short by the budget or a stop request. */
  partial: boolean;
}

/** A point of the accuracy-against-training-time curve. */
export interface CurvePoint {
  trainSeconds: number;
  wallSeconds: number;
  examples: number;
  validationAccuracy: number;
}

/** Arguments of {@link trainDateModel}. */
export interface DateTrainingArgs {
  model: tf.LayersModel;
  vocab: Vocab;
  /** Training days; every epoch shows each once, in a random format and variant. Required. */
  trainDays: Day[];
  /** Examples scored after every epoch (early stopping, best weights). Default: none. */
  validation?: Example[]|undefined;
  /** Most epochs. Default 20. */
  epochs?: number|undefined;
  /** Default 128. */
  batchSize?: number|undefined;
  /** Learning-rate schedule. Default: peak 3e-3, 100 warm-up steps, cosine over the steps. */
  schedule?: ScheduleArgs|undefined;
  /** Adam's β₂ and ε. Default 0.98 and 1e-8 (tfjs's own `adam`: 0.999 and 1e-7). */
  beta2?: number|undefined;
  epsilon?: number|undefined;
  /** Clock of the budget and the reported times. Required. */
  clock: Clock;
  /** Seconds on `clock` the run may use. Default: no limit. */
  budgetSeconds?: number|undefined;
  /** Stop after this many steps. Default: no limit. */
  maxSteps?: number|undefined;
  /** Epochs without validation improvement before stopping. Default 3. */
  patience?: number|undefined;
  /** Stop once validation exact match reaches this. Default 1 (never early). */
  targetAccuracy?: number|undefined;
  /** What the model takes. Default 'transformer'. */
  inputs?: ModelInputs|undefined;
  /** Pad inputs to a multiple of this many characters (webgl compiles a program per shape). Default 1. */
  lengthMultiple?: number|undefined;
  /** Examples of the curve's points, scored every `curveEverySeconds` (clock paused). */
  curveValidation?: Example[]|undefined;
  curveEverySeconds?: number|undefined;
  /** How variants are drawn. Default: see `VariantArgs`. */
  variants?: VariantArgs|undefined;
  /** Seed of the epochs' shuffles, formats and variants. Default 1. */
  seed?: number|undefined;
  onBatch?: ((info: BatchProgress) => void)|undefined;
  onEpoch?: ((info: EpochInfo) => void|Promise<void>)|undefined;
  /** Called with each point of the curve as it is scored. */
  onCurvePoint?: ((point: CurvePoint) => void)|undefined;
  /** Asked before every step; true ends training (the epoch under way ends early). */
  stopRequested?: (() => boolean)|undefined;
  /** Awaited after every step (a page passes `tf.nextFrame`). */
  yieldToEvents?: (() => Promise<void>)|undefined;
}

/** What {@link trainDateModel} returns. */
export interface DateTrainingResult extends TrainingResult {
  epochInfos: EpochInfo[];
  curve: CurvePoint[];
  /** Best validation exact match (NaN without validation). */
  bestValidationAccuracy: number;
}

/** Trains `model` in place; at the end it holds the weights of the best validation epoch. */
export async function trainDateModel(args: DateTrainingArgs): Promise<DateTrainingResult> {
  const {model, vocab} = args;
  const inputs = args.inputs ?? 'transformer';
  const batchSize = args.batchSize ?? 128;
  const patience = args.patience ?? 3;
  const next = random(args.seed ?? 1);
  const schedule = args.schedule ?? {peak: 3e-3, warmupSteps: 100};
  const optimizer = new ScheduledAdam(schedule.peak, 0.9, args.beta2 ?? 0.98,
                                      args.epsilon ?? 1e-8);
  const variables = model.trainableWeights.map(w => w.read() as tf.Variable);
  const score = (examples: Example[]) => {
    const right = evaluate(model, vocab, examples, {inputs, lengthMultiple: args.lengthMultiple});
    return right.filter(Boolean).length / right.length;
  };

  const epochInfos: EpochInfo[] = [];
  const curve: CurvePoint[] = [];
  let best: tf.Tensor[] = [];
  let bestAccuracy = -1;
  let sinceBest = 0;
  const addPoint = (point: CurvePoint) => {
    curve.push(point);
    args.onCurvePoint?.(point);
  };
  try {
    const result = await runTraining<Example[]>({
      clock: args.clock, epochs: args.epochs ?? 20, schedule, budgetSeconds: args.budgetSeconds,
      maxSteps: args.maxSteps,
      epochBatches: () => lengthBatches(epochExamples(args.trainDays, next, args.variants),
                                        batchSize, next),
      step: async (examples, rate) => {
        optimizer.setLearningRate(rate);
        const batch = makeBatch(vocab, examples, inputs, args.lengthMultiple);
        let logits: tf.Tensor|null = null;
        const loss = optimizer.minimize(() => {
          const out = model.apply(batch.inputs, {training: true}) as tf.Tensor;
          logits = tf.keep(out);
          return sequenceLoss(out, batch.labels);
        }, true, variables)!;
        const lossValue = (await loss.data())[0]!;
        const right = exactMatches(logits!, batch.labels).filter(Boolean).length;
        tf.dispose([loss, logits!, batch.inputs, batch.labels]);
        return {loss: lossValue, examples: examples.length, right};
      },
      measure: args.curveValidation == null ? undefined : at => {
        addPoint({trainSeconds: at.elapsed, wallSeconds: at.wallSeconds, examples: at.examples,
                  validationAccuracy: score(args.curveValidation!)});
      },
      measureEvery: args.curveEverySeconds,
      endEpoch: async e => {
        if (e.epoch === 0 && args.curveValidation != null) {
          addPoint({trainSeconds: 0, wallSeconds: 0, examples: 0,
                    validationAccuracy: score(args.curveValidation)});
        }
        const validationAccuracy = args.validation == null ? NaN : score(args.validation);
        const improved = args.validation == null || validationAccuracy > bestAccuracy;
        if (args.validation != null && improved) {
          bestAccuracy = validationAccuracy;
          tf.dispose(best);
          best = model.getWeights().map(w => w.clone());
          sinceBest = 0;
        } else if (args.validation != null) {
          sinceBest++;
        }
        if (e.epoch === 0) {
          return false;
        }
        const info: EpochInfo = {epoch: e.epoch, loss: e.loss, accuracy: e.accuracy,
                                 validationAccuracy, trainSeconds: e.elapsed,
                                 wallSeconds: e.wallSeconds, examples: e.examples, improved,
                                 partial: e.partial};
        epochInfos.push(info);
        await args.onEpoch?.(info);
        return validationAccuracy >= (args.targetAccuracy ?? 1) || sinceBest >= patience;
      },
      onBatch: args.onBatch, stopRequested: args.stopRequested,
      yieldToEvents: args.yieldToEvents,
    });
    if (args.curveValidation != null) {
      const last = curve[curve.length - 1];
      if (last == null || last.trainSeconds < result.elapsed) {
        addPoint({trainSeconds: result.elapsed, wallSeconds: result.wallSeconds,
                  examples: result.examples, validationAccuracy: score(args.curveValidation)});
      }
    }
    if (best.length > 0) {
      model.setWeights(best);
    }
    return {...result, epochInfos, curve,
            bestValidationAccuracy: args.validation == null ? NaN : bestAccuracy};
  } finally {
    tf.dispose(best);
    optimizer.dispose();
  }
}
