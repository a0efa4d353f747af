/**
 * The built package (dist/, as npm publishes it) loads from both `require` and `import` through
 * package.json `exports`, registers its classes with the user's own tfjs, and the README's
 * example runs as written.
 */
import {execFileSync} from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');

function node(args: string[], cwd = root): string {
  return execFileSync(process.execPath, args, {cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']});
}

beforeAll(() => {
  if (!fs.existsSync(path.join(root, 'dist/cjs/index.js')) ||
      !fs.existsSync(path.join(root, 'dist/esm/index.mjs'))) {
    throw new Error('dist/ is missing: run `npm run build` first (npm test does).');
  }
});

const check = `
  const layer = m.selfAttention({numHeads: 2});
  const y = layer.apply(tf.ones([1, 3, 4]));
  const registered = tf.serialization.SerializationMap.getMap().classNameMap.SelfAttention[0];
  console.log(JSON.stringify({shape: y.shape, sameClass: registered === m.SelfAttention,
                              exports: Object.keys(m).includes('scaledDotProductAttention')}));`;

it('require() resolves dist/cjs and registers with the same tfjs', () => {
  const out = node(['-e', `const tf = require('@tensorflow/tfjs'); const m = require('tfjs-self-attention'); ${check}`]);
  expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({shape: [1, 3, 4], sameClass: true, exports: true});
  expect(require.resolve('tfjs-self-attention')).toBe(path.join(root, 'dist/cjs/index.js'));
});

it('import resolves dist/esm and registers with the same tfjs', () => {
  const out = node(['--input-type=module', '-e',
                    `import * as tf from '@tensorflow/tfjs'; import * as m from 'tfjs-self-attention'; ${check}`]);
  expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({shape: [1, 3, 4], sameClass: true, exports: true});
});

it('the ESM bundle keeps tfjs external (never a second copy of tfjs-core)', () => {
  const bundle = fs.readFileSync(path.join(root, 'dist/esm/index.mjs'), 'utf8');
  expect(bundle).toMatch(/from "@tensorflow\/tfjs"/);
  expect(bundle).not.toMatch(/class Engine|registerKernel\(/);
  expect(fs.existsSync(path.join(root, 'dist/types/index.d.ts'))).toBe(true);
});

it('the README example runs as written', () => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const example = /<!-- example:start -->\s*```js\n([\s\S]*?)```\s*<!-- example:end -->/.exec(readme);
  expect(example).not.toBeNull();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'readme-example-'));
  // Inside the repo so that 'tfjs-self-attention' resolves to this package's own exports.
  const file = path.join(root, `.readme-example-${process.pid}.mjs`);
  fs.writeFileSync(file, example![1]!);
  try {
    const out = node([file], dir);
    expect(out).toMatch(/output shape: \[2,5,16\]/);
    expect(out).toMatch(/weights shape: \[2,4,5,5\]/);
    expect(out).toMatch(/each row sums to 1: true/);
    expect(out).toMatch(/loaded model predicts the same: true/);
    expect(fs.existsSync(path.join(dir, 'my-model', 'model.json'))).toBe(true);
  } finally {
    fs.rmSync(file);
    fs.rmSync(dir, {recursive: true});
  }
});
