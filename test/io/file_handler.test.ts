/**
 * file:// saving and loading in Node with plain @tensorflow/tfjs: round trips, the standard
 * layout (read and written by tfjs-node's handler too), and every way a load can fail.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import * as tf from '@tensorflow/tfjs';

import {fileSystem, positionalEmbedding, selfAttention} from '../../src';

let root: string;

beforeAll(async () => {
  await tf.setBackend('cpu');
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'sa-io-'));
});

afterAll(() => {
  fs.rmSync(root, {recursive: true, force: true});
});

function buildModel(seed = 1): tf.LayersModel {
  const input = tf.input({shape: [5, 6]});
  let x = positionalEmbedding({maxLength: 5}).apply(input) as tf.SymbolicTensor;
  x = selfAttention({numHeads: 2, useBias: true,
                     kernelInitializer: tf.initializers.glorotUniform({seed})})
          .apply(x) as tf.SymbolicTensor;
  const output = tf.layers.dense({units: 3, kernelInitializer: tf.initializers.glorotUniform({seed})})
                     .apply(x) as tf.SymbolicTensor;
  const model = tf.model({inputs: input, outputs: output});
  model.compile({optimizer: tf.train.adam(0.01), loss: 'meanSquaredError'});
  return model;
}

function sha256(data: Buffer): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

/** Records the SHA-256 of a weights.bin edited on purpose, as a save would have. */
function rehash(folder: string): void {
  const file = path.join(folder, 'model.json');
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  json.weightsManifest[0].sha256 = [sha256(fs.readFileSync(path.join(folder, 'weights.bin')))];
  fs.writeFileSync(file, JSON.stringify(json));
}

const x = () => tf.randomUniform([4, 5, 6], -1, 1, 'float32', 3);

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

/** Saves a small trained model to a fresh folder; returns the folder. */
async function savedModel(name: string): Promise<string> {
  const model = buildModel();
  const folder = path.join(root, name);
  await model.save(`file://${folder}`);
  model.dispose();
  return folder;
}

/** Expects loading `url` to fail with a message containing every string in `parts`, no leak. */
async function expectLoadError(url: string, parts: Array<string|RegExp>): Promise<void> {
  const before = tf.memory().numTensors;
  const variables = Object.keys(tf.engine().registeredVariables).length;
  let message = '';
  try {
    const model = await tf.loadLayersModel(url);
    model.dispose();
  } catch (e) {
    message = (e as Error).message;
  }
  for (const part of parts) {
    expect(message).toMatch(part);
  }
  expect(tf.memory().numTensors).toBe(before);
  expect(Object.keys(tf.engine().registeredVariables).length).toBe(variables);
}

describe('round trip through file://', () => {
  it('model.save("file://…") then tf.loadLayersModel gives the same predictions and layout', async () => {
    const model = buildModel();
    const input = x();
    await model.fit(input, tf.zeros([4, 5, 3]), {epochs: 2, verbose: 0});
    const folder = path.join(root, 'round', 'nested', 'm');  // parents are created
    const result = await model.save(`file://${folder}`, {includeOptimizer: true});
    expect(result.modelArtifactsInfo.weightDataBytes).toBeGreaterThan(0);
    expect(fs.readdirSync(folder).sort()).toEqual(['model.json', 'weights.bin']);
    expect(fs.readdirSync(path.dirname(folder))).toEqual(['m']);  // no temporary left beside it

    const json = JSON.parse(fs.readFileSync(path.join(folder, 'model.json'), 'utf8'));
    const weightsBin = fs.readFileSync(path.join(folder, 'weights.bin'));
    expect(json.weightsManifest).toEqual([{paths: ['weights.bin'], weights: expect.any(Array),
                                           sha256: [sha256(weightsBin)]}]);
    expect(json.modelTopology.class_name).toBe('Model');
    expect(json.trainingConfig.loss).toBe('mean_squared_error');
    expect(json.weightsManifest[0].weights.filter((w: {group?: string}) => w.group === 'optimizer')
               .length).toBe(1 + 2 * model.weights.length);  // Adam: iterations, m and v
    const bytes = json.weightsManifest[0].weights.reduce(
        (n: number, w: {shape: number[]}) => n + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
    expect(fs.statSync(path.join(folder, 'weights.bin')).size).toBe(bytes);

    const before = tf.memory().numTensors;
    const loaded = await tf.loadLayersModel(`file://${folder}/model.json`);
    expect(maxDiff(loaded.predict(input) as tf.Tensor, model.predict(input) as tf.Tensor)).toBe(0);
    expect(loaded.layers.map(l => l.getClassName()))
        .toEqual(['InputLayer', 'PositionalEmbedding', 'SelfAttention', 'Dense']);
    loaded.dispose();
    loaded.optimizer.dispose();  // tfjs leaves an optimizer made from trainingConfig to the caller
    expect(tf.memory().numTensors).toBe(before + 2);  // the two predictions above
    const restored = await tf.loadLayersModel(`file://${folder}/model.json`);
    const optimizerWeights = await restored.optimizer.getWeights();
    const savedWeights = await model.optimizer.getWeights();
    expect(optimizerWeights.length).toBe(savedWeights.length);
    optimizerWeights.forEach((w, i) => expect(maxDiff(w.tensor, savedWeights[i]!.tensor)).toBe(0));
    restored.dispose();
  });

  it('loads from the folder too, and through the fileSystem() handler with a relative path', async () => {
    const model = buildModel(2);
    const relative = path.relative(process.cwd(), path.join(root, 'rel'));
    await model.save(fileSystem(relative));
    for (const source of [`file://${relative}`, fileSystem(`${relative}/model.json`)]) {
      const loaded = await tf.loadLayersModel(source);
      expect(maxDiff(loaded.predict(x()) as tf.Tensor, model.predict(x()) as tf.Tensor)).toBe(0);
      loaded.dispose();
    }
  });

  it('saving again replaces the model and keeps other files in the folder', async () => {
    const folder = path.join(root, 'again');
    const first = buildModel(3);
    await first.save(`file://${folder}`);
    fs.writeFileSync(path.join(folder, 'vocab.json'), '["a","b"]');
    fs.mkdirSync(path.join(folder, 'extra'));
    fs.writeFileSync(path.join(folder, 'extra', 'notes.txt'), 'kept');
    const second = buildModel(4);
    await second.save(`file://${folder}`);
    expect(fs.readdirSync(folder).sort()).toEqual(['extra', 'model.json', 'vocab.json', 'weights.bin']);
    expect(fs.readFileSync(path.join(folder, 'vocab.json'), 'utf8')).toBe('["a","b"]');
    expect(fs.readFileSync(path.join(folder, 'extra', 'notes.txt'), 'utf8')).toBe('kept');
    expect(fs.readdirSync(root).filter(n => n.startsWith('.again'))).toEqual([]);
    const loaded = await tf.loadLayersModel(`file://${folder}/model.json`);
    expect(maxDiff(loaded.predict(x()) as tf.Tensor, second.predict(x()) as tf.Tensor)).toBe(0);
    expect(maxDiff(loaded.predict(x()) as tf.Tensor, first.predict(x()) as tf.Tensor)).toBeGreaterThan(0);
    loaded.dispose();
  });

  it('refuses to save over a file', async () => {
    const file = path.join(root, 'a-file');
    fs.writeFileSync(file, 'x');
    await expect(buildModel().save(`file://${file}`)).rejects.toThrow(`${file}: it exists and is not a folder`);
  });
});

describe('other models through file://', () => {
  it('a graph model (TensorFlow-converted format) loads with tf.loadGraphModel', async () => {
    // y = x · w as a GraphDef, the format tfjs's converter writes.
    const folder = path.join(root, 'graph');
    fs.mkdirSync(folder);
    const modelJson = {
      format: 'graph-model', generatedBy: 'hand-written', convertedBy: null,
      modelTopology: {
        node: [
          {name: 'x', op: 'Placeholder', attr: {dtype: {type: 'DT_FLOAT'},
                                                 shape: {shape: {dim: [{size: '-1'}, {size: '2'}]}}}},
          {name: 'w', op: 'Const', attr: {dtype: {type: 'DT_FLOAT'}, value: {tensor: {
            dtype: 'DT_FLOAT', tensorShape: {dim: [{size: '2'}, {size: '1'}]}}}}},
          {name: 'y', op: 'MatMul', input: ['x', 'w'],
           attr: {transpose_a: {b: false}, transpose_b: {b: false}, T: {type: 'DT_FLOAT'}}},
        ],
        versions: {producer: 1},
      },
      weightsManifest: [{paths: ['weights.bin'], weights: [{name: 'w', shape: [2, 1], dtype: 'float32'}]}],
    };
    fs.writeFileSync(path.join(folder, 'model.json'), JSON.stringify(modelJson));
    fs.writeFileSync(path.join(folder, 'weights.bin'), Buffer.from(new Float32Array([2, -3]).buffer));
    const graph = await tf.loadGraphModel(`file://${folder}/model.json`);
    const y = graph.predict(tf.tensor2d([[1, 1], [4, 2]])) as tf.Tensor;
    expect(Array.from(y.dataSync())).toEqual([2 - 3, 8 - 6]);
    graph.dispose();
  });

  it('{strict: false} lets a weight without a layer pass, as tfjs does', async () => {
    const model = buildModel(5);
    const folder = path.join(root, 'lenient');
    await model.save(`file://${folder}`);
    const file = path.join(folder, 'model.json');
    const json = JSON.parse(fs.readFileSync(file, 'utf8'));
    json.weightsManifest[0].weights.push({name: 'gone_layer/kernel', shape: [1], dtype: 'float32'});
    fs.writeFileSync(file, JSON.stringify(json));
    fs.appendFileSync(path.join(folder, 'weights.bin'), Buffer.alloc(4));
    rehash(folder);  // edited on purpose: the checks below, not the checksum, are under test
    await expectLoadError(`file://${file}`, ["weight 'gone_layer/kernel', which no layer"]);
    const loaded = await tf.loadLayersModel(`file://${file}`, {strict: false});
    expect(maxDiff(loaded.predict(x()) as tf.Tensor, model.predict(x()) as tf.Tensor)).toBe(0);
    loaded.dispose();
  });
});

describe('files written by tfjs-node', () => {
  it("loads a model saved by tfjs-node 4.22's own file:// handler (committed fixture)", async () => {
    // Made by scripts/tfjs-node-compat.js with tfjs-node's handler; predictions recorded then.
    const folder = path.join(__dirname, '..', 'fixtures', 'tfjs-node-4.22');
    const expected = JSON.parse(fs.readFileSync(path.join(folder, 'expected.json'), 'utf8'));
    const loaded = await tf.loadLayersModel(`file://${folder}/model.json`);
    const output = loaded.predict(tf.tensor(expected.input, expected.inputShape)) as tf.Tensor;
    expect(output.shape).toEqual(expected.outputShape);
    expect(maxDiff(output, tf.tensor(expected.output, expected.outputShape))).toBe(0);
    expect(loaded.optimizer.getClassName()).toBe('Adam');
    loaded.dispose();
  });
});

describe('load errors name the file and the problem, and build nothing', () => {
  it('missing folder', async () => {
    const folder = path.join(root, 'nowhere');
    await expectLoadError(`file://${folder}/model.json`, [folder, 'does not exist']);
  });

  it('missing model.json', async () => {
    const folder = path.join(root, 'empty');
    fs.mkdirSync(folder);
    await expectLoadError(`file://${folder}/model.json`,
                          [path.join(folder, 'model.json'), 'does not exist']);
  });

  it('missing weights.bin', async () => {
    const folder = await savedModel('noweights');
    fs.rmSync(path.join(folder, 'weights.bin'));
    await expectLoadError(`file://${folder}/model.json`,
                          [path.join(folder, 'weights.bin'), 'does not exist']);
  });

  it('model.json that is not JSON', async () => {
    const folder = await savedModel('notjson');
    const file = path.join(folder, 'model.json');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').slice(0, 100));  // cut short
    await expectLoadError(`file://${file}`, [file, 'is not valid JSON']);
  });

  it.each([['modelTopology'], ['weightsManifest']])('model.json without %s', async key => {
    const folder = await savedModel(`no-${key}`);
    const file = path.join(folder, 'model.json');
    const json = JSON.parse(fs.readFileSync(file, 'utf8'));
    delete json[key];
    fs.writeFileSync(file, JSON.stringify(json));
    await expectLoadError(`file://${file}`, [file, `no "${key}"`]);
  });

  it.each([['shorter', -4], ['longer', 8]])('weights.bin %s than the manifest says', async (word, delta) => {
    const folder = await savedModel(`size-${word}`);
    const bin = path.join(folder, 'weights.bin');
    const data = fs.readFileSync(bin);
    const changed = delta < 0 ? data.subarray(0, data.length + delta) :
                                Buffer.concat([data, Buffer.alloc(delta)]);
    fs.writeFileSync(bin, changed);
    await expectLoadError(`file://${folder}/model.json`,
                          [bin, `has ${changed.length} bytes, ${word} than the ${data.length} bytes`]);
  });

  it("a weight whose shape does not fit the layer's config", async () => {
    const folder = await savedModel('shape');
    const file = path.join(folder, 'model.json');
    const json = JSON.parse(fs.readFileSync(file, 'utf8'));
    const dense = json.modelTopology.config.layers.find(
        (l: {class_name: string}) => l.class_name === 'Dense');
    dense.config.units = 4;  // the saved kernel is [6, 3]
    fs.writeFileSync(file, JSON.stringify(json));
    await expectLoadError(`file://${file}`,
                          [file, /weight 'dense_Dense\d+\/kernel' has shape \[6,3\]/, 'expects [6,4]']);
  });

  it('a weight the model does not have, and a weight the manifest lacks', async () => {
    const folder = await savedModel('names');
    const file = path.join(folder, 'model.json');
    const json = JSON.parse(fs.readFileSync(file, 'utf8'));
    const weights = json.weightsManifest[0].weights;
    const original = weights[0].name;
    weights[0].name = 'not_a_layer/kernel';
    fs.writeFileSync(file, JSON.stringify(json));
    await expectLoadError(`file://${file}`, [file, "weight 'not_a_layer/kernel', which no layer"]);

    // Drop the last weight from both the manifest and the data: sizes agree, names do not.
    weights[0].name = original;
    const last = weights.pop();
    fs.writeFileSync(file, JSON.stringify(json));
    const bin = path.join(folder, 'weights.bin');
    const data = fs.readFileSync(bin);
    fs.writeFileSync(bin, data.subarray(0, data.length - 4 * last.shape.reduce((a: number, b: number) => a * b, 1)));
    rehash(folder);
    await expectLoadError(`file://${file}`, [file, 'lacks 1 weight(s)', last.name]);
  });

  it.each([['SelfAttentionXL'], ['MadeUpLayer']])('an unknown layer class (%s)', async name => {
    const folder = await savedModel(`class-${name}`);
    const file = path.join(folder, 'model.json');
    const json = JSON.parse(fs.readFileSync(file, 'utf8'));
    json.modelTopology.config.layers[2].class_name = name;
    fs.writeFileSync(file, JSON.stringify(json));
    await expectLoadError(`file://${file}`,
                          [file, `unknown layer class '${name}'`, 'Import the package', 'registerClass']);
  });

  it('an unknown class inside a nested model is found too', async () => {
    const inner = tf.sequential({layers: [tf.layers.dense({units: 2, inputShape: [3]})]});
    const outer = tf.sequential({layers: [inner, tf.layers.dense({units: 1})]});
    const folder = path.join(root, 'nested-class');
    await outer.save(`file://${folder}`);
    const file = path.join(folder, 'model.json');
    const text = fs.readFileSync(file, 'utf8');
    // The inner model's Dense is the first Dense in the file.
    fs.writeFileSync(file, text.replace('"class_name":"Dense"', '"class_name":"Dense2"'));
    await expectLoadError(`file://${file}`, [file, "unknown layer class 'Dense2'"]);
  });
});
