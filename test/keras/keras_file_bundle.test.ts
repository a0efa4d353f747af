/**
 * The Keras-file code stays out of what a page loads until a Keras file is touched: in the
 * browser build (dist/esm), index.mjs and the chunks it imports statically hold none of the zip
 * and HDF5 code (fflate, jsfive, the HDF5 writer, the config export); one chunk holds it, reached
 * only by a dynamic import. Both builds (ESM and CommonJS) save and read a `.keras` file in Node.
 * Needs `npm run build` first (npm test does it).
 */
import {execFileSync} from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

const repo = path.resolve(__dirname, '..', '..');
const esm = path.join(repo, 'dist', 'esm');

/** A marker of each part that must load lazily. */
const LAZY_MARKERS = {
  jsfive: 'Compact storage of DataObject not implemented',
  fflate: 'invalid zip data',
  'HDF5 writer': 'HDF5: a name must be non-empty',
  'config export': 'Cannot save the layer',
};

function read(file: string): string {
  return fs.readFileSync(file, 'utf8');
}

/** index.mjs and every chunk it imports statically, transitively. */
function staticClosure(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const m of read(file).matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s*["'](\.[^"']+)["']/gm)) {
      visit(path.resolve(path.dirname(file), m[1]!));
    }
  };
  visit(entry);
  return [...seen];
}

beforeAll(() => {
  if (!fs.existsSync(path.join(esm, 'index.mjs'))) {
    throw new Error('dist/esm/index.mjs is missing: run `npm run build` first (npm test does).');
  }
});

describe('the browser build', () => {
  it('loads none of the Keras-file code up front', () => {
    const closure = staticClosure(path.join(esm, 'index.mjs'));
    for (const file of closure) {
      const code = read(file);
      for (const [part, marker] of Object.entries(LAZY_MARKERS)) {
        expect([part, code.includes(marker)]).toEqual([part, false]);
      }
    }
  });

  it('has one chunk with all of it, imported dynamically by index.mjs', () => {
    const chunks = fs.readdirSync(path.join(esm, 'chunks')).filter(f => f.startsWith('keras_file_io-'));
    expect(chunks).toHaveLength(1);
    const code = read(path.join(esm, 'chunks', chunks[0]!));
    for (const marker of Object.values(LAZY_MARKERS)) {
      expect(code).toContain(marker);
    }
    expect(read(path.join(esm, 'index.mjs'))).toContain(`import("./chunks/${chunks[0]}")`);
    expect(staticClosure(path.join(esm, 'index.mjs'))).not.toContain(path.join(esm, 'chunks', chunks[0]!));
  });
});

const SCRIPT = (load: string) => `
  ${load}
  await tf.setBackend('cpu');
  const model = tf.sequential({layers: [tf.layers.dense({units: 2, inputShape: [3], name: 'd'})]});
  let bytes;
  await sa.saveKerasModel(model, {write: b => { bytes = b; }});
  const expected = JSON.stringify(model.getWeights().map(t => Array.from(t.dataSync())));
  model.setWeights(model.getWeights().map(t => tf.zerosLike(t)));
  await sa.loadKerasWeights(model, bytes);
  const same = JSON.stringify(model.getWeights().map(t => Array.from(t.dataSync()))) === expected;
  console.log(JSON.stringify({zip: bytes[0] === 0x50 && bytes[1] === 0x4b, same}));
`;

describe.each([
  ['ESM', 'mjs', `const tf = await import('@tensorflow/tfjs');
                  const sa = await import(${JSON.stringify(path.join(esm, 'index.mjs'))});`],
  ['CommonJS', 'cjs', `const tf = require('@tensorflow/tfjs');
                       const sa = require(${JSON.stringify(path.join(repo, 'dist', 'cjs', 'index.js'))});`],
])('the %s build in Node', (_name, ext, load) => {
  it('saves a .keras file and reads its weights back', () => {
    const file = path.join(repo, '.tmp', `keras_file_bundle_${process.pid}.${ext}`);
    fs.mkdirSync(path.dirname(file), {recursive: true});
    const body = ext === 'cjs' ? `(async () => {${SCRIPT(load)}})();` : SCRIPT(load);
    fs.writeFileSync(file, body);
    try {
      const out = execFileSync(process.execPath, [file], {cwd: repo, encoding: 'utf8',
                                                          stdio: ['ignore', 'pipe', 'pipe']});
      expect(JSON.parse(out.trim().split('\n').pop()!)).toEqual({zip: true, same: true});
    } finally {
      fs.rmSync(file, {force: true});
    }
  });
});
