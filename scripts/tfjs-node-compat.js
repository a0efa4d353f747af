/**
 * Cross-check with tfjs-node's own file:// handler, which cannot be installed where its native
 * library cannot be downloaded, but whose handler is plain JavaScript. Usage:
 *
 *   npm run build
 *   npm pack @tensorflow/tfjs-node@4.22.0 && tar xzf tensorflow-tfjs-node-4.22.0.tgz
 *   node scripts/tfjs-node-compat.js package [fixture-folder]
 *
 * (run in the repository root, so that the unpacked `package/` finds `node_modules`; delete
 * `package/` and the .tgz afterwards).
 *
 * 1. Saves a model holding SelfAttention with this package's handler and loads it with
 *    tfjs-node's handler; predictions must be equal.
 * 2. With a fixture folder: saves a model with tfjs-node's handler there, plus its input and
 *    predictions (`expected.json`), which test/io/file_handler.test.ts loads with this package.
 */
const path = require('path');
const os = require('os');
const fs = require('fs');
const tf = require('@tensorflow/tfjs');
const sa = require('../dist/cjs');

const tfjsNode = require(path.resolve(process.argv[2], 'dist/io/file_system.js'));
const fixture = process.argv[3];

function buildModel() {
  const input = tf.input({shape: [5, 6]});
  let x = sa.positionalEmbedding({maxLength: 5}).apply(input);
  x = sa.selfAttention({numHeads: 2, useBias: true, kernelInitializer: 'glorotUniform'}).apply(x);
  const output = tf.layers.dense({units: 3}).apply(x);
  const model = tf.model({inputs: input, outputs: output});
  model.compile({optimizer: tf.train.adam(0.01), loss: 'meanSquaredError'});
  return model;
}

async function main() {
  await tf.setBackend('cpu');
  tf.util.seedrandom?.('compat');
  const model = buildModel();
  const x = tf.randomUniform([4, 5, 6], -1, 1, 'float32', 7);
  const y = tf.randomUniform([4, 5, 3], -1, 1, 'float32', 8);
  await model.fit(x, y, {epochs: 3, verbose: 0, shuffle: false});
  const expected = model.predict(x);

  const ours = fs.mkdtempSync(path.join(os.tmpdir(), 'compat-'));
  await model.save(sa.fileSystem(path.join(ours, 'm')), {includeOptimizer: true});
  const viaNode = await tf.loadLayersModel(tfjsNode.fileSystem(path.join(ours, 'm', 'model.json')));
  const diff1 = tf.max(tf.abs(tf.sub(viaNode.predict(x), expected))).dataSync()[0];
  console.log(`saved by this package, loaded by tfjs-node's handler: max |diff| = ${diff1}`);
  if (diff1 !== 0) process.exitCode = 1;

  if (fixture) {
    await model.save(tfjsNode.fileSystem(fixture), {includeOptimizer: true});
    fs.writeFileSync(path.join(fixture, 'expected.json'), JSON.stringify({
      input: Array.from(x.dataSync()), inputShape: x.shape,
      output: Array.from(expected.dataSync()), outputShape: expected.shape,
    }));
    const back = await tf.loadLayersModel(sa.fileSystem(path.join(fixture, 'model.json')));
    const diff2 = tf.max(tf.abs(tf.sub(back.predict(x), expected))).dataSync()[0];
    console.log(`saved by tfjs-node's handler, loaded by this package: max |diff| = ${diff2}`);
    if (diff2 !== 0) process.exitCode = 1;
  }
}
main();
