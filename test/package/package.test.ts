/**
 * The built package (dist/) loads from both `require` and `import` through package.json
 * `exports` inside this checkout, and registers its classes with the user's own tfjs. The
 * packed package in fresh projects, the README's example among them: consumer.test.ts.
 */
import {execFileSync} from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const root = path.resolve(__dirname, '..', '..');

function node(args: string[], cwd = root): string {
  return execFileSync(
      process.execPath, args, {cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']});
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
  const out = node([
    '-e',
    `const tf = require('@tensorflow/tfjs'); const m = require('tfjs-self-attention'); ${check}`
  ]);
  expect(JSON.parse(out.trim().split('\n').pop()!))
      .toEqual({shape: [1, 3, 4], sameClass: true, exports: true});
  expect(require.resolve('tfjs-self-attention')).toBe(path.join(root, 'dist/cjs/index.js'));
});

it('import in Node resolves dist/esm/node.mjs, which re-exports the CommonJS build', () => {
  const out = node([
    '--input-type=module', '-e',
    `import * as tf from '@tensorflow/tfjs'; import * as m from 'tfjs-self-attention';
                     import {createRequire} from 'module';
                     console.log(import.meta.resolve('tfjs-self-attention'));
                     console.log(createRequire(import.meta.url)('tfjs-self-attention').SelfAttention === m.SelfAttention);
                     ${check}`
  ]);
  const [resolved, same, result] = out.trim().split('\n').slice(-3);
  expect(resolved).toBe(`file://${path.join(root, 'dist/esm/node.mjs')}`);
  expect(same).toBe('true');
  expect(JSON.parse(result!)).toEqual({shape: [1, 3, 4], sameClass: true, exports: true});
});

it('the ESM bundle and its chunks keep tfjs external (never a second copy of tfjs-core)', () => {
  const esm = path.join(root, 'dist/esm');
  const files =
      fs.readdirSync(esm, {recursive: true, encoding: 'utf8'}).filter(f => f.endsWith('.mjs'));
  expect(files.length).toBeGreaterThan(1);
  expect(fs.readFileSync(path.join(esm, 'index.mjs'), 'utf8')).toMatch(/from "@tensorflow\/tfjs"/);
  for (const file of files) {
    expect(fs.readFileSync(path.join(esm, file), 'utf8'))
        .not.toMatch(/class Engine\b|const kernelRegistry\b/);
  }
  expect(fs.existsSync(path.join(root, 'dist/types/index.d.ts'))).toBe(true);
});
