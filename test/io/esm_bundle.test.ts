/**
 * The ESM bundle (dist/esm/index.mjs, what bundlers and browsers get) has no top-level Node
 * import, saves and loads file:// in Node (also on Node without process.getBuiltinModule, through
 * the dynamic-import fallback), and without Node's `process` leaves file:// alone with a clear
 * message. Needs `npm run build` first (npm test does it).
 */
import {execFileSync} from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const repo = path.resolve(__dirname, '..', '..');
const bundle = path.join(repo, 'dist', 'esm', 'index.mjs');
let root: string;

beforeAll(() => {
  if (!fs.existsSync(bundle)) {
    throw new Error(`${bundle} is missing: run \`npm run build\` first (npm test does).`);
  }
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'sa-bundle-'));
});

afterAll(() => {
  fs.rmSync(root, {recursive: true, force: true});
});

/** Runs an ES module script with Node in the repository (so @tensorflow/tfjs resolves). */
function runModule(source: string): string {
  const file = path.join(repo, '.tmp', `bundle_check_${process.pid}.mjs`);
  fs.mkdirSync(path.dirname(file), {recursive: true});
  fs.writeFileSync(file, source);
  try {
    return execFileSync(process.execPath, [file], {cwd: repo, encoding: 'utf8',
                                                   stdio: ['ignore', 'pipe', 'pipe']});
  } finally {
    fs.rmSync(file, {force: true});
  }
}

describe('the ESM bundle', () => {
  it('imports only @tensorflow/* (and its own chunks) at top level (no fs, path or node:)', () => {
    // index.mjs and the chunks esbuild splits off (code loaded on first use, and what the two share)
    const chunks = path.join(path.dirname(bundle), 'chunks');
    const files = [bundle, ...(fs.existsSync(chunks) ? fs.readdirSync(chunks).map(f => path.join(chunks, f)) : [])];
    for (const file of files) {
      const code = fs.readFileSync(file, 'utf8');
      const imports = [...code.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']/gm)]
                          .map(m => m[1]);
      expect(imports.length).toBeGreaterThan(file === bundle ? 0 : -1);
      expect(imports.filter(s => !s!.startsWith('@tensorflow/') && !/^\.\/(chunks\/)?chunk-[A-Z0-9]+\.mjs$/.test(s!)))
          .toEqual([]);
      expect(code).not.toMatch(/^\s*import\s*["'][^"']+["']/m);  // bare side-effect imports
      expect(code).not.toMatch(/\brequire\(/);
    }
  });

  it.each([['process.getBuiltinModule'], ['the dynamic-import fallback']])(
      'saves and loads file:// in Node through %s', how => {
        const folder = path.join(root, how.startsWith('process') ? 'builtin' : 'fallback');
        const out = runModule(`
          ${how.startsWith('process') ? '' : 'delete process.getBuiltinModule;'}
          const tf = await import('@tensorflow/tfjs');
          const sa = await import(${JSON.stringify(bundle)});
          await tf.setBackend('cpu');
          const input = tf.input({shape: [3, 4]});
          const model = tf.model({inputs: input, outputs: sa.selfAttention({numHeads: 2}).apply(input)});
          const x = tf.randomNormal([2, 3, 4]);
          await model.save('file://${folder}');
          const loaded = await tf.loadLayersModel('file://${folder}/model.json');
          const diff = tf.max(tf.abs(tf.sub(model.predict(x), loaded.predict(x)))).dataSync()[0];
          console.log(JSON.stringify({diff, builtin: typeof process.getBuiltinModule}));
        `);
        const result = JSON.parse(out.trim().split('\n').pop()!);
        expect(result).toEqual({diff: 0, builtin: how.startsWith('process') ? 'function' : 'undefined'});
        expect(fs.readdirSync(folder).sort()).toEqual(['model.json', 'weights.bin']);
      });

  it('without Node (no process), file:// is left to tfjs and the handler says what to use', () => {
    const out = runModule(`
      const tf = await import('@tensorflow/tfjs');
      const realProcess = globalThis.process;
      Object.defineProperty(globalThis, 'process', {value: undefined, configurable: true, writable: true});
      const sa = await import(${JSON.stringify(bundle)});
      const handlers = tf.io.getSaveHandlers('file://x').length;
      let message = '';
      try {
        await sa.fileSystem('x').save({modelTopology: {}, weightSpecs: [], weightData: new ArrayBuffer(0)});
      } catch (e) {
        message = e.message;
      }
      globalThis.process = realProcess;
      console.log(JSON.stringify({handlers, message}));
    `);
    const result = JSON.parse(out.trim().split('\n').pop()!);
    expect(result.handlers).toBe(0);
    expect(result.message).toMatch(/file:\/\/ paths need Node.js .* 'indexeddb:\/\/name'/);
  });
});
