/**
 * Keras's serialized helper objects → tfjs configs: initializers, regularizers, constraints,
 * activations and dtype policies, in both the Keras 3 form (`{module, class_name, config,
 * registered_name}`, `DTypePolicy`) and the tf.keras 2 form (`{class_name, config}`, a dtype
 * string, or a plain name such as 'glorot_uniform'). What has no tfjs equivalent is reported
 * through `report` and gives `undefined`.
 */
import * as tf from '@tensorflow/tfjs';

import {kerasActivation} from './activations';
import {Dict, isDict, preview} from './config';

type Report = (what: string) => void;
type ConfigDict = tf.serialization.ConfigDict;

/** `{class_name, config}` of a serialized object, or a plain name. */
function readObject(value: unknown): {className: string, config: Dict}|null {
  if (typeof value === 'string') {
    return {className: value, config: {}};
  }
  if (isDict(value) && typeof value['class_name'] === 'string') {
    return {className: value['class_name'], config: isDict(value['config']) ? value['config'] : {}};
  }
  return null;
}

/** 'glorot_uniform', 'GlorotUniform' → 'glorotuniform'. */
function key(name: string): string {
  return name.replace(/_/g, '').toLowerCase();
}

const SEEDED: Record<string, string> = {
  glorotuniform: 'GlorotUniform', glorotnormal: 'GlorotNormal', heuniform: 'HeUniform',
  henormal: 'HeNormal', lecununiform: 'LeCunUniform', lecunnormal: 'LeCunNormal',
};

function seed(config: Dict): number|null {
  return typeof config['seed'] === 'number' ? config['seed'] : null;
}

/**
 * A Keras initializer → tfjs `{className, config}`. `where` names the argument for messages
 * ("kernel_initializer").
 */
export function initializer(value: unknown, where: string, report: Report): ConfigDict|null {
  if (value == null) {
    return null;
  }
  const obj = readObject(value);
  if (obj === null) {
    report(`${where} ${preview(value, 80)}`);
    return null;
  }
  const c = obj.config;
  const k = key(obj.className);
  const num = (name: string, fallback: number) =>
      (typeof c[name] === 'number' ? c[name] as number : fallback);
  if (SEEDED[k]) {
    return {className: SEEDED[k]!, config: {seed: seed(c)}};
  }
  switch (k) {
    case 'zeros':
      return {className: 'Zeros', config: {}};
    case 'ones':
      return {className: 'Ones', config: {}};
    case 'constant':
      if (typeof c['value'] !== 'number') {
        break;
      }
      return {className: 'Constant', config: {value: c['value'] as number}};
    case 'randomnormal':
    case 'normal':
      return {className: 'RandomNormal',
              config: {mean: num('mean', 0), stddev: num('stddev', 0.05), seed: seed(c)}};
    case 'randomuniform':
    case 'uniform':
      return {className: 'RandomUniform',
              config: {minval: num('minval', -0.05), maxval: num('maxval', 0.05), seed: seed(c)}};
    case 'truncatednormal':
      return {className: 'TruncatedNormal',
              config: {mean: num('mean', 0), stddev: num('stddev', 0.05), seed: seed(c)}};
    case 'orthogonal':
    case 'orthogonalinitializer':
      return {className: 'Orthogonal', config: {gain: num('gain', 1), seed: seed(c)}};
    case 'identity':
    case 'identityinitializer':
      return {className: 'Identity', config: {gain: num('gain', 1)}};
    case 'variancescaling': {
      const mode = {fan_in: 'fanIn', fan_out: 'fanOut', fan_avg: 'fanAvg'}[String(c['mode'] ?? 'fan_in')];
      const distribution = {normal: 'normal', truncated_normal: 'truncatedNormal',
                            untruncated_normal: 'normal', uniform: 'uniform'}[
          String(c['distribution'] ?? 'truncated_normal')];
      if (mode === undefined || distribution === undefined) {
        break;
      }
      return {className: 'VarianceScaling',
              config: {scale: num('scale', 1), mode, distribution, seed: seed(c)}};
    }
    default:
      break;
  }
  report(`${where} '${obj.className}' ${preview(c, 80)}`);
  return null;
}

/** A Keras regularizer → tfjs `{className: 'L1L2', config}`. */
export function regularizer(value: unknown, where: string, report: Report): ConfigDict|null {
  if (value == null) {
    return null;
  }
  const obj = readObject(value);
  const num = (name: string) => (typeof obj?.config[name] === 'number' ? obj.config[name] as number : 0);
  switch (obj === null ? '' : key(obj.className)) {
    case 'l1':
      return {className: 'L1L2', config: {l1: num('l1') || 0.01, l2: 0}};
    case 'l2':
      return {className: 'L1L2', config: {l1: 0, l2: num('l2') || 0.01}};
    case 'l1l2':
      return {className: 'L1L2', config: {l1: num('l1'), l2: num('l2')}};
    default:
      report(`${where} ${obj === null ? preview(value, 80) : `'${obj.className}'`}`);
      return null;
  }
}

/** A Keras constraint → tfjs `{className, config}`. */
export function constraint(value: unknown, where: string, report: Report): ConfigDict|null {
  if (value == null) {
    return null;
  }
  const obj = readObject(value);
  const c = obj?.config ?? {};
  const num = (name: string, fallback: number) =>
      (typeof c[name] === 'number' ? c[name] as number : fallback);
  const axis = (c['axis'] ?? 0) as number|number[];
  switch (obj === null ? '' : key(obj.className)) {
    case 'nonneg':
      return {className: 'NonNeg', config: {}};
    case 'maxnorm':
      return {className: 'MaxNorm', config: {maxValue: num('max_value', 2), axis}};
    case 'unitnorm':
      return {className: 'UnitNorm', config: {axis}};
    case 'minmaxnorm':
      return {className: 'MinMaxNorm',
              config: {minValue: num('min_value', 0), maxValue: num('max_value', 1),
                       rate: num('rate', 1), axis}};
    default:
      report(`${where} ${obj === null ? preview(value, 80) : `'${obj.className}'`}`);
      return null;
  }
}

/**
 * A Keras activation (a name, or Keras 3's `{class_name: 'function', config: name}`) → the
 * tfjs activation name.
 */
export function activation(value: unknown, version: 2|3, report: Report): string|undefined {
  if (value == null) {
    return 'linear';
  }
  let name: unknown = value;
  if (isDict(value)) {
    name = typeof value['config'] === 'string' ? value['config'] :
        isDict(value['config']) ? (value['config'] as Dict)['name'] : undefined;
  }
  const tfjs = typeof name === 'string' ? kerasActivation(name, version) : null;
  if (tfjs === null) {
    report(`activation ${preview(name ?? value, 80)}`);
    return undefined;
  }
  return tfjs;
}

/**
 * The compute dtype of a layer (`dtype`: a name or a `DTypePolicy`). Only float32 math runs
 * here; a mixed or lower precision policy is reported.
 */
export function layerDtype(value: unknown, report: Report): void {
  let name: unknown = value;
  if (isDict(value)) {
    name = isDict(value['config']) ? value['config']['name'] : undefined;
  }
  if (value == null || name === 'float32') {
    return;
  }
  report(`dtype policy ${preview(name ?? value, 80)} (only float32 layers run here)`);
}

/** A Keras input dtype → the tfjs dtype it is fed as. */
export function inputDtype(value: unknown, report: Report): tf.DataType {
  const name = isDict(value) && isDict(value['config']) ? value['config']['name'] : value ?? 'float32';
  switch (name) {
    case 'float32': case 'float16': case 'float64': case 'bfloat16':
      return 'float32';
    case 'int32': case 'int64': case 'int16': case 'int8': case 'uint8': case 'uint16':
    case 'uint32':
      return 'int32';
    case 'bool':
      return 'bool';
    default:
      report(`input dtype ${preview(name, 40)}`);
      return 'float32';
  }
}
