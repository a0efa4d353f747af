/**
 * Bad Keras files: each gives an error that names the file and the layer (or the weight), no
 * model, and leaves no tensor or variable behind. What is unsupported is one error listing all
 * of it, before any weight is read.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';

import {KerasConfigError, KerasUnsupportedError, loadKerasModel, useBestBackend} from '../../src';
import {census, FIXTURES} from '../helpers/keras_models';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests edit Keras configs' fields freely
type Json = Record<string, any>;

let root: string;
beforeAll(async () => {
  await useBestBackend({order: ['cpu']});
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'keras-bad-'));
});
afterAll(() => fs.rmSync(root, {recursive: true, force: true}));

let count = 0;
/** A copy of a fixture folder with its model.json changed by `edit` (and optionally no weights). */
function variant(fixture: string, edit: (json: Json) => void, {weights = true} = {}): string {
  const folder = path.join(root, `${fixture}-${count++}`);
  fs.mkdirSync(folder);
  const json = JSON.parse(fs.readFileSync(path.join(FIXTURES, fixture, 'model.json'), 'utf8'));
  edit(json);
  fs.writeFileSync(path.join(folder, 'model.json'), JSON.stringify(json));
  if (weights) {
    for (const p of json.weightsManifest.flatMap((g: Json) => g.paths)) {
      fs.copyFileSync(path.join(FIXTURES, fixture, p), path.join(folder, p));
    }
  }
  return folder;
}

function layer(json: Json, name: string): Json {
  return json.modelTopology.model_config.config.layers.find((l: Json) => l.name === name);
}

function specs(json: Json): Json[] {
  return json.weightsManifest[0].weights;
}

/** Expects the load to fail with `pattern`, leaving nothing behind. */
async function expectFailure(source: string, pattern: RegExp,
                             type: abstract new (...args: never[]) => unknown = Error) {
  const before = census();
  const error = await loadKerasModel(source).then(() => null, (e: Error) => e);
  expect(error).toBeInstanceOf(type);
  expect(error!.message).toMatch(pattern);
  expect(census()).toEqual(before);
  return error!;
}

describe('unsupported content', () => {
  test('one error lists every unsupported class, function and argument with its layers, ' +
       'before reading any weight', async () => {
    const folder = variant('masked_rnn', json => {
      layer(json, 'rnn').config.time_major = true;
      layer(json, 'last').config.stateful = true;
      layer(json, 'out').config.activation = 'sparsemax';
      layer(json, 'cat').class_name = 'ConvLSTM1D';
      layer(json, 'embed').config.embeddings_initializer = {class_name: 'STFTInitializer', config: {}};
      for (const side of ['layer', 'backward_layer']) {
        layer(json, 'bilstm').config[side].config.kernel_constraint =
            {class_name: 'CenteredNorm', config: {}};
      }
    }, {weights: false});  // no weights file at all: the error must come first
    const e = await expectFailure(folder, /cannot load/, KerasUnsupportedError) as KerasUnsupportedError;
    expect(e.message).toContain(path.join(folder, 'model.json'));
    expect(e.items).toEqual(expect.arrayContaining([
      {what: 'SimpleRNN argument time_major=true', layers: ['rnn']},
      {what: 'LSTM argument stateful=true', layers: ['last']},
      {what: 'activation "sparsemax"', layers: ['out']},
      {what: "layer class 'ConvLSTM1D'", layers: ['cat']},
      expect.objectContaining({what: expect.stringContaining("'STFTInitializer'"), layers: ['embed']}),
      expect.objectContaining({what: expect.stringContaining("'CenteredNorm'"), layers: ['bilstm']}),
    ]));
    expect(e.items.length).toBe(6);
  });

  test('a layer used by several layers is listed once with all of them', async () => {
    const folder = variant('norms', json => {
      for (const name of ['ln_default', 'ln_rms']) {
        layer(json, name).config.epsilon = 'tiny';
        layer(json, name).config.beta_gamma_mode = 'new in Keras 9';
      }
    }, {weights: false});
    const e = await expectFailure(folder, /ln_default', 'ln_rms'/, KerasUnsupportedError) as KerasUnsupportedError;
    expect(e.items.map(i => i.layers)).toEqual([['ln_default', 'ln_rms'], ['ln_default', 'ln_rms']]);
  });

  test('custom classes, unknown ops, arguments and call arguments are named', async () => {
    const folder = variant('ops_constants', json => {
      const ops = json.modelTopology.model_config.config.layers;
      ops.find((l: Json) => l.name === 'tanh').class_name = 'Einsum';
      const dense = layer(json, 'dense');
      dense.module = 'my_project.layers';
      dense.registered_name = 'MyDense';
    }, {weights: false});
    const e = await expectFailure(folder, /Einsum/, KerasUnsupportedError) as KerasUnsupportedError;
    expect(e.items.map(i => i.what)).toEqual([
      "keras.ops operation 'Einsum'", "custom layer class 'MyDense' (module 'my_project.layers')"]);
    const withKwargs = variant('sequential_mlp', json => {
      json.modelTopology.model_config.config.layers[0].config.sparse = true;
    }, {weights: false});
    const f = await expectFailure(withKwargs, /sparse=true/, KerasUnsupportedError) as KerasUnsupportedError;
    expect(f.items).toEqual([{what: 'InputLayer argument sparse=true', layers: ['features']}]);
    const call = variant('text_encoder', json => {
      layer(json, 'pool').inbound_nodes[0].kwargs.keepdims = true;
    }, {weights: false});
    const g = await expectFailure(call, /keepdims/, KerasUnsupportedError) as KerasUnsupportedError;
    expect(g.items).toEqual([{what: "GlobalAveragePooling1D call argument 'keepdims'", layers: ['pool']}]);
  });
});

describe('weights that do not fit', () => {
  test('a weight the model needs is missing: strict names it, non-strict loads', async () => {
    const folder = variant('sequential_mlp', json => {
      const w = specs(json);
      w.splice(w.findIndex(s => s.name.endsWith('norm/beta')), 1);
    });
    // the .bin now holds 7 more bytes than the manifest: shorten it to fit
    const bin = path.join(folder, 'group1-shard1of1.bin');
    const data = fs.readFileSync(bin);
    fs.writeFileSync(bin, data.subarray(0, data.length - 7 * 4));
    await expectFailure(folder, /needs 1 weight\(s\) the file does not have: 'norm\/beta' \(layer 'norm'\)/);
    const model = await loadKerasModel(folder, {strict: false});
    expect(model.getLayer('norm').weights.length).toBe(2);
    model.dispose();
  });

  test('a weight no layer takes', async () => {
    const folder = variant('sequential_mlp', json => {
      specs(json)[0]!.name = 'sequential_mlp/fc9/kernel';
    });
    await expectFailure(folder, /no layer of the model takes: 'sequential_mlp\/fc9\/kernel'/);
  });

  test('a weight of the wrong shape names the layer and both shapes', async () => {
    const folder = variant('sequential_mlp', json => {
      const kernel = specs(json)[0]!;  // fc1/kernel [5, 7]
      kernel.shape = [7, 5];
    });
    await expectFailure(folder, /'sequential_mlp\/fc1\/kernel' has shape \[7,5\] in the file, but layer 'fc1' as configured needs \[5,7\]/);
  });

  test('a weight of the wrong dtype', async () => {
    const folder = variant('sequential_mlp', json => {
      specs(json)[1]!.dtype = 'int32';
    });
    await expectFailure(folder, /'sequential_mlp\/fc1\/bias' is int32 in the file, but layer 'fc1' needs float32/);
  });

  test('a weights file cut short', async () => {
    const folder = variant('text_encoder', () => undefined);
    const bin = path.join(folder, 'group1-shard1of1.bin');
    fs.truncateSync(bin, fs.statSync(bin).size - 10);
    await expectFailure(folder, /group1-shard1of1\.bin/);
  });

  test('a weights path outside the folder is refused before reading', async () => {
    const folder = variant('sequential_mlp', json => {
      json.weightsManifest[0].paths = ['../group1-shard1of1.bin'];
    }, {weights: false});
    fs.copyFileSync(path.join(FIXTURES, 'sequential_mlp', 'group1-shard1of1.bin'),
                    path.join(root, 'group1-shard1of1.bin'));
    await expectFailure(folder, /\.\.\/group1-shard1of1\.bin/);
  });
});

describe('files that are not Keras layers models', () => {
  test('not JSON', async () => {
    const folder = path.join(root, 'not-json');
    fs.mkdirSync(folder);
    fs.writeFileSync(path.join(folder, 'model.json'), '{"modelTopology": ');
    await expectFailure(folder, /model\.json is not valid JSON/);
  });

  test('a missing file names it', async () => {
    await expectFailure(path.join(root, 'nowhere', 'model.json'), /nowhere\/model\.json/);
  });

  test('a node that uses a layer the model does not have', async () => {
    const folder = variant('text_encoder', json => {
      layer(json, 'pool').inbound_nodes[0].args[0].config.keras_history = ['enc3_ln2', 0, 0];
    });
    await expectFailure(folder, /layer 'pool' \(GlobalAveragePooling1D\), node 0, uses the output of a layer 'enc3_ln2'/,
                        KerasConfigError);
  });

  test('a graph model', async () => {
    const folder = variant('sequential_mlp', json => {
      json.format = 'graph-model';
    });
    await expectFailure(folder, /graph model.*tf\.loadGraphModel/);
  });

  test('a model saved by tfjs points to tf.loadLayersModel', async () => {
    const model = tf.sequential({layers: [tf.layers.dense({units: 1, inputShape: [2]})]});
    const folder = path.join(root, 'tfjs-saved');
    await model.save(`file://${folder}`);
    model.dispose();
    await expectFailure(folder, /saved by TensorFlow\.js.*tf\.loadLayersModel/);
  });

  test('a layer that cannot be made names the layer; the variables made so far are released',
       async () => {
         const folder = variant('text_encoder', json => {
           layer(json, 'enc2_mha').config.key_dim = 0;
         });
         const e = await expectFailure(folder, /cannot make layer 'enc2_mha'.*keyDim/);
         expect(e.message.startsWith(path.join(folder, 'model.json'))).toBe(true);
       });
});
