/**
 * Checkpoint: a `model.fit` callback that saves the model while it trains (the latest state
 * every few epochs, and the best one by a monitored metric), each save atomic. A model that has
 * gone non-finite (a NaN or infinite monitored value or weight) is never saved over the last
 * good one.
 */
import * as tf from '@tensorflow/tfjs';

import {FILE_SCHEME, fileSystem, MODEL_JSON} from './file_handler';
import {nodeModules} from './node_fs';

/** Arguments of {@link Checkpoint}. */
export interface CheckpointArgs {
  /**
   * Where to save. A folder (Node: a plain path or 'file://…') gets `latest/` and `best/`
   * model folders inside it; any other URL ('indexeddb://run', 'localstorage://run') gets
   * '/latest' and '/best' appended. Required.
   */
  path: string;
  /** Save the latest state to `<path>/latest` every this many epochs; 0 = never. Default 1. */
  every?: number;
  /** Also keep the best model by `monitor` in `<path>/best`. Default false. */
  keepBest?: boolean;
  /**
   * The log value that decides "best", e.g. 'val_loss', 'loss', 'val_acc'. Default 'val_loss'
   * when validation data is given, else 'loss'.
   */
  monitor?: string;
  /**
   * 'min': lower is better; 'max': higher is better; 'auto': 'max' for names containing 'acc',
   * else 'min'. Default 'auto'.
   */
  mode?: 'min'|'max'|'auto';
  /** Save the optimizer's state too, so that training resumes exactly. Default true. */
  includeOptimizer?: boolean;
  /**
   * Stop training (as Keras's `TerminateOnNaN` does) at the end of the first epoch whose
   * monitored value or any weight is not finite. Either way such an epoch is not saved: `latest`
   * and `best` keep the last good model, and a warning says so. Default false.
   */
  terminateOnNaN?: boolean;
}

/** What a checkpoint writes into the model's `userDefinedMetadata.checkpoint`. */
export interface CheckpointInfo {
  /** Epochs completed when it was saved: pass it as `initialEpoch` to resume. */
  epoch: number;
  /** The metric it was judged by (`val_loss` by default with validation data, else `loss`). */
  monitor: string;
  /** That metric's value at that epoch; null when the logs did not have it. */
  value: number|null;
}

/**
 * Saves during `fit`. Each save replaces its folder atomically, so a run killed at any moment
 * leaves the previous checkpoint loadable. The saved model's `getUserDefinedMetadata()` has
 * `checkpoint: {epoch, monitor, value}`. A later run with the same `path` and `keepBest` only
 * replaces `best` with something better than what is there.
 *
 * ```ts
 * const saver = new Checkpoint({path: 'runs/a', every: 1, keepBest: true});
 * await model.fit(xs, ys, {epochs: 20, validationData: [valXs, valYs], callbacks: [saver]});
 * const best = await tf.loadLayersModel('file://runs/a/best/model.json');
 * ```
 */
export class Checkpoint extends tf.Callback {
  /** Where the checkpoints go: `<path>/latest` and `<path>/best` ({@link CheckpointArgs.path}). */
  readonly path: string;
  /** Saves `latest` every this many epochs; 0 never ({@link CheckpointArgs.every}, default 1). */
  readonly every: number;
  /**
   * Whether `best` keeps the best model by the monitored metric ({@link CheckpointArgs.keepBest},
   * default false).
   */
  readonly keepBest: boolean;
  /**
   * Whether saves include the optimizer's state ({@link CheckpointArgs.includeOptimizer}, default
   * true).
   */
  readonly includeOptimizer: boolean;
  /**
   * Whether a non-finite epoch stops training ({@link CheckpointArgs.terminateOnNaN}, default
   * false).
   */
  readonly terminateOnNaN: boolean;
  private readonly requestedMonitor: string|undefined;
  private readonly requestedMode: 'min'|'max'|'auto';
  private best: number|null = null;
  private bestLoaded = false;
  /** The epochs this run last saved to latest and best. */
  private readonly saved: {latest: number|null, best: number|null} = {latest: null, best: null};

  constructor(args: CheckpointArgs) {
    super();
    if (typeof args?.path !== 'string' || args.path.length === 0) {
      throw new Error(`checkpoint: path must be a non-empty folder or URL. Received: ` +
                      `path=${JSON.stringify(args?.path)}`);
    }
    const every = args.every ?? 1;
    if (!(Number.isInteger(every) && every >= 0)) {
      throw new Error(`checkpoint: every must be a non-negative integer (epochs). Received: ` +
                      `every=${JSON.stringify(args.every)}`);
    }
    const mode = args.mode ?? 'auto';
    if (!['min', 'max', 'auto'].includes(mode)) {
      throw new Error(`checkpoint: mode must be 'min', 'max' or 'auto'. Received: ` +
                      `mode=${JSON.stringify(args.mode)}`);
    }
    if (args.monitor !== undefined && (typeof args.monitor !== 'string' || args.monitor === '')) {
      throw new Error(`checkpoint: monitor must be the name of a logged value. Received: ` +
                      `monitor=${JSON.stringify(args.monitor)}`);
    }
    for (const key of ['keepBest', 'includeOptimizer', 'terminateOnNaN'] as const) {
      if (args[key] !== undefined && typeof args[key] !== 'boolean') {
        throw new Error(`checkpoint: ${key} must be true or false. Received: ` +
                        `${key}=${JSON.stringify(args[key])}`);
      }
    }
    if (every === 0 && !(args.keepBest ?? false)) {
      throw new Error('checkpoint: with every=0 and keepBest=false it would never save. Received: ' +
                      `every=0, keepBest=${JSON.stringify(args.keepBest)}`);
    }
    this.path = args.path;
    this.every = every;
    this.keepBest = args.keepBest ?? false;
    this.includeOptimizer = args.includeOptimizer ?? true;
    this.terminateOnNaN = args.terminateOnNaN ?? false;
    this.requestedMonitor = args.monitor;
    this.requestedMode = mode;
  }

  /** Where the latest state goes: a folder path or a URL. */
  get latestPath(): string {
    return this.child('latest');
  }

  /** Where the best model goes: a folder path or a URL. */
  get bestPath(): string {
    return this.child('best');
  }

  /** The best monitored value saved so far (this run or an earlier one), or null. */
  get bestValue(): number|null {
    return this.best;
  }

  /**
   * Called by `fit` after each epoch: saves `latest` when due and `best` when the metric improved.
   */
  override async onEpochEnd(epoch: number, logs?: tf.Logs): Promise<void> {
    const done = epoch + 1;
    const numbers = await resolveLogs(logs);
    const monitor = this.monitorName(numbers);
    const value = numbers[monitor] ?? null;
    const saveLatest = this.every > 0 && done % this.every === 0;
    if (this.keepBest && value === null) {
      throw new Error(`checkpoint: monitor '${monitor}' is not in the logs of epoch ${done}. ` +
                      `Logged values: ${JSON.stringify(numbers)}`);
    }
    if (!saveLatest && !this.keepBest) {
      return;
    }
    const problem = value !== null && !Number.isFinite(value) ?
        `the monitored '${monitor}' is ${value}` : await this.nonFiniteWeight();
    if (problem !== null) {
      const targets = [saveLatest ? 'latest' : '', this.keepBest ? 'best' : ''].filter(t => t);
      const last = targets.map(t => `${t}: ${this.saved[t as 'latest'|'best'] === null ?
          'none this run' : `epoch ${this.saved[t as 'latest'|'best']}`}`).join(', ');
      console.warn(`tfjs-self-attention: checkpoint: after epoch ${done} ${problem}, so ` +
                   `${targets.join(' and ')} in ${this.path} ${targets.length > 1 ? 'were' : 'was'} ` +
                   `not overwritten (last saved ${last}). ` + (this.terminateOnNaN ?
                       'Training stops (terminateOnNaN).' :
                       'Pass terminateOnNaN: true to stop training when this happens.'));
      if (this.terminateOnNaN) {
        this.model.stopTraining = true;
      }
      return;
    }
    if (saveLatest) {
      await this.saveTo(this.latestPath, {epoch: done, monitor, value});
      this.saved.latest = done;
    }
    if (!this.keepBest || value === null) {
      return;
    }
    if (!this.bestLoaded) {
      this.best = await this.previousBest(monitor);
      this.bestLoaded = true;
    }
    const higherIsBetter = this.mode(monitor) === 'max';
    if (this.best === null || (higherIsBetter ? value > this.best : value < this.best)) {
      await this.saveTo(this.bestPath, {epoch: done, monitor, value});
      this.best = value;
      this.saved.best = done;
    }
  }

  /**
   * "weight 'x' has N non-finite values" for the first model weight (or, when it is saved,
   * optimizer weight) holding a NaN or an infinity; null when all are finite.
   */
  private async nonFiniteWeight(): Promise<string|null> {
    const named: Array<{name: string, tensor: tf.Tensor}> =
        this.model.weights.map(w => ({name: w.originalName, tensor: w.read()}));
    const optimizer = this.includeOptimizer ? this.model.optimizer : null;
    const optimizerWeights = optimizer != null ? await optimizer.getWeights() : [];
    named.push(...optimizerWeights.map(w => ({name: `optimizer ${w.name}`, tensor: w.tensor})));
    if (named.length === 0) {
      return null;
    }
    try {
      const counts = tf.tidy(() => tf.stack(named.map(({tensor}) => tf.sum(tf.cast(
          tf.logicalNot(tf.isFinite(tf.cast(tensor, 'float32'))), 'int32')))));
      const values = await counts.data();
      counts.dispose();
      const first = values.findIndex(n => n > 0);
      return first < 0 ? null :
          `weight '${named[first]!.name}' has ${values[first]} non-finite value(s)`;
    } finally {
      tf.dispose(optimizerWeights.map(w => w.tensor).filter(t => !(t instanceof tf.Variable)));
    }
  }

  private monitorName(logs: Record<string, number>): string {
    if (this.requestedMonitor !== undefined) {
      return this.requestedMonitor;
    }
    return 'val_loss' in logs ? 'val_loss' : 'loss';
  }

  private mode(monitor: string): 'min'|'max' {
    if (this.requestedMode !== 'auto') {
      return this.requestedMode;
    }
    return monitor.includes('acc') ? 'max' : 'min';
  }

  private isFolder(): boolean {
    return this.path.startsWith(FILE_SCHEME) || !/^[a-z][a-z0-9+.-]*:\/\//i.test(this.path);
  }

  private child(name: string): string {
    return `${this.path.replace(/\/+$/, '')}/${name}`;
  }

  private async saveTo(target: string, info: CheckpointInfo): Promise<void> {
    let handler: tf.io.IOHandler;
    if (this.isFolder()) {
      handler = fileSystem(target);
    } else {
      const handlers = tf.io.getSaveHandlers(target);
      if (handlers.length !== 1) {
        throw new Error(`checkpoint: ${handlers.length} save handlers for '${target}'; ` +
                        'expected exactly one (is the URL scheme right?).');
      }
      handler = handlers[0]!;
    }
    const model = this.model;
    const optimizer = this.includeOptimizer ? model.optimizer : null;
    // The model's own metadata plus the checkpoint's, without touching the model. The optimizer's
    // state is added here rather than by `includeOptimizer`, whose path in tfjs 4.22 leaks the
    // 'iter' scalar of every save (one tensor per checkpoint over a long run).
    await model.save(tf.io.withSaveHandler(async artifacts => {
      const extra: Partial<tf.io.ModelArtifacts> = {};
      if (optimizer != null) {
        const weights = await optimizer.getWeights();
        try {
          const encoded = await tf.io.encodeWeights(weights, 'optimizer');
          extra.trainingConfig = (model as unknown as {getTrainingConfig(): tf.io.TrainingConfig})
                                     .getTrainingConfig();
          extra.weightSpecs = [...(artifacts.weightSpecs ?? []), ...encoded.specs];
          extra.weightData = tf.io.concatenateArrayBuffers(
              [tf.io.CompositeArrayBuffer.join(artifacts.weightData ?? []), encoded.data]);
        } finally {
          tf.dispose(weights.map(w => w.tensor).filter(t => !(t instanceof tf.Variable)));
        }
      }
      return handler.save!({
        ...artifacts,
        ...extra,
        userDefinedMetadata: {...(artifacts.userDefinedMetadata ?? {}), checkpoint: {...info}},
      });
    }));
  }

  /** The monitored value stored with an earlier best model at this path, if any. */
  private async previousBest(monitor: string): Promise<number|null> {
    if (!this.isFolder()) {
      return null;
    }
    try {
      const node = await nodeModules();
      const folder = node.path.resolve(this.bestPath.replace(FILE_SCHEME, ''));
      const json = JSON.parse(await node.fs.readFile(node.path.join(folder, MODEL_JSON), 'utf8'));
      const info = json?.userDefinedMetadata?.checkpoint as CheckpointInfo|undefined;
      return info?.monitor === monitor && typeof info.value === 'number' ? info.value : null;
    } catch {
      return null;  // no earlier best (or an unreadable one, which the next save replaces)
    }
  }
}

/** The logs as numbers (tfjs may hand scalars over as tensors). */
async function resolveLogs(logs?: tf.Logs): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(logs ?? {})) {
    const v = value as number|tf.Scalar;
    out[key] = typeof v === 'number' ? v : (await v.data())[0]!;
  }
  return out;
}

/**
 * Factory: `model.fit(x, y, {callbacks: [checkpoint({path: 'runs/a', keepBest: true})]})`.
 *
 * ```ts
 * await model.fit(xs, ys, {epochs: 10, callbacks: [checkpoint({path: 'runs/a', keepBest: true})]});
 * const latest = await tf.loadLayersModel('file://runs/a/latest/model.json');
 * const {epoch} = (latest.getUserDefinedMetadata() as {checkpoint: CheckpointInfo}).checkpoint;
 * await latest.fit(xs, ys, {epochs: 20, initialEpoch: epoch});  // resumes where it stopped
 * ```
 */
export function checkpoint(args: CheckpointArgs): Checkpoint {
  return new Checkpoint(args);
}
