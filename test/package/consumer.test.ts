/**
 * The package as a user gets it: `npm pack`'s tarball, installed into fresh ES module, CommonJS
 * and TypeScript projects, where the README's example runs (and compiles with `--strict`) as
 * written. Offline: the projects take @tensorflow/tfjs (and the wasm backend, so that
 * `useBestBackend()` picks wasm and the example trains there) from this checkout's node_modules
 * as `file:` links, and the package from the tarball, so `npm install --offline` needs nothing
 * from the registry. Needs `npm run build` first (npm test does it); packs with
 * `--ignore-scripts` so that the running suites keep their dist/.
 */
import {execFileSync, spawnSync} from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const repo = path.resolve(__dirname, '..', '..');
const modules = path.join(repo, 'node_modules');
const ownDependencies: Record<string, string> =
    JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')).dependencies ?? {};
let work: string;
let tarball: string;
let packed: {files: string[], size: number, unpackedSize: number};

function run(command: string, args: string[], cwd: string): string {
  const result =
      spawnSync(command, args, {cwd, encoding: 'utf8', env: {...process.env, CI: 'true'}});
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd} (exit ${result.status}):\n${
        result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

const node = (args: string[], cwd: string) => run(process.execPath, args, cwd);
const tsc = (args: string[], cwd: string) => spawnSync(
    process.execPath, [path.join(modules, 'typescript', 'bin', 'tsc'), ...args],
    {cwd, encoding: 'utf8'});

/** The README's example block, as written. */
function readmeExample(): string {
  const readme = fs.readFileSync(path.join(repo, 'README.md'), 'utf8');
  const block = /<!-- example:start -->\s*```js\n([\s\S]*?)```\s*<!-- example:end -->/.exec(readme);
  if (block == null) throw new Error('README.md has no <!-- example:start --> ```js block');
  return block[1]!;
}

/** A fresh project that installs the tarball (and tfjs, linked) offline; returns its folder. */
function project(
    name: string, fields: Record<string, unknown>, files: Record<string, string>): string {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  const link = (pkg: string) => `file:${path.join(modules, pkg)}`;
  fs.writeFileSync(
      path.join(dir, 'package.json'),
      JSON.stringify(
          {
            name,
            version: '1.0.0',
            private: true,
            ...fields,
            dependencies: {
              '@tensorflow/tfjs': link('@tensorflow/tfjs'),
              '@tensorflow/tfjs-backend-wasm': link('@tensorflow/tfjs-backend-wasm'),
              // The package's own dependencies from this checkout too: nothing to resolve.
              ...Object.fromEntries(Object.keys(ownDependencies).map(name => [name, link(name)])),
              'tfjs-self-attention': `file:${tarball}`,
            },
          },
          null, 2));
  for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text);
  run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], dir);
  return dir;
}

beforeAll(() => {
  if (!fs.existsSync(path.join(repo, 'dist', 'cjs', 'index.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first (npm test does).');
  }
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'sa-consumer-'));
  const out = execFileSync(
      'npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work],
      {cwd: repo, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe']});
  const info = JSON.parse(out)[0] as
      {filename: string, size: number, unpackedSize: number, files: Array<{path: string}>};
  tarball = path.join(work, info.filename);
  packed = {files: info.files.map(f => f.path), size: info.size, unpackedSize: info.unpackedSize};
});

afterAll(() => {
  if (work != null) fs.rmSync(work, {recursive: true, force: true});
});

describe('npm pack', () => {
  it('ships the types, the ES module and CommonJS builds, README, LICENSE and nothing else', () => {
    for (const file
             of ['package.json', 'README.md', 'LICENSE', 'dist/cjs/index.js', 'dist/esm/index.mjs',
                 'dist/esm/node.mjs', 'dist/esm/index.d.mts', 'dist/types/index.d.ts']) {
      expect(packed.files).toContain(file);
    }
    const outside = packed.files.filter(
        f => !f.startsWith('dist/') && !['package.json', 'README.md', 'LICENSE'].includes(f));
    expect(outside).toEqual([]);
    // Every .js has its declaration; no source map points at sources the package leaves out.
    expect(packed.files.filter(f => f.endsWith('.map'))).toEqual([]);
    for (const f of packed.files.filter(f => f.startsWith('dist/cjs/'))) {
      expect(packed.files)
          .toContain(f.replace(/^dist\/cjs\//, 'dist/types/').replace(/\.js$/, '.d.ts'));
    }
  });

  it('every file package.json names is in the tarball', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8'));
    const targets: string[] = [pkg.main, pkg.module, pkg.types];
    const walk = (v: unknown): void => {
      if (typeof v === 'string')
        targets.push(v);
      else if (v != null && typeof v === 'object')
        Object.values(v).forEach(walk);
    };
    walk(pkg.exports);
    for (const target of targets) expect(packed.files).toContain(target.replace(/^\.\//, ''));
  });

  it('the README states upper bounds of the sizes npm pack measures now, and not loose ones',
     () => {
       const readme = fs.readFileSync(path.join(repo, 'README.md'), 'utf8');
       const stated =
           /under ([\d.]+) (kB|MB) as a tarball \(under ([\d.]+) (kB|MB) unpacked/.exec(readme);
       expect(stated).not.toBeNull();
       const bytes = (value: string, unit: string) => Number(value) * (unit === 'MB' ? 1e6 : 1e3);
       const bounds = [bytes(stated![1]!, stated![2]!), bytes(stated![3]!, stated![4]!)];
       [packed.size, packed.unpackedSize].forEach((measured, i) => {
         expect(measured).toBeLessThanOrEqual(bounds[i]!);
         expect(measured).toBeGreaterThan(bounds[i]! / 2);  // else the README oversells: lower it
       });
     });
});

describe('an ES module project', () => {
  let dir: string;
  beforeAll(() => {
    dir = project('esm-app', {type: 'module'}, {
      'example.js': readmeExample(),
      // require and import in one process: one copy of the package, one set of classes.
      'both.js': `
        import {createRequire} from 'module';
        import * as tf from '@tensorflow/tfjs';
        import * as imported from 'tfjs-self-attention';
        const required = createRequire(import.meta.url)('tfjs-self-attention');
        const registered = tf.serialization.SerializationMap.getMap().classNameMap.SelfAttention[0];
        console.log(JSON.stringify({
          sameClass: imported.SelfAttention === required.SelfAttention,
          registered: registered === imported.SelfAttention,
          instance: required.selfAttention() instanceof imported.SelfAttention,
          sameNames: Object.keys(imported).sort().join() === Object.keys(required).filter(k => k !== '__esModule').sort().join(),
        }));`,
      'default.js': `import sa from 'tfjs-self-attention'; console.log(typeof sa);`,
    });
  });

  it('runs the README example as written, training on wasm', () => {
    const out = node(['example.js'], dir);
    expect(out).toMatch(/^wasm output \[2,5,16\]$/m);
    expect(out).toMatch(/^weights \[2,4,5,5\]$/m);
    expect(out).toMatch(/^rows sum to 1: true$/m);
    expect(out).toMatch(
        /^loaded Embedding → SelfAttention → GlobalAveragePooling1D → Dense$/m);
    expect(fs.existsSync(path.join(dir, 'my-model', 'model.json'))).toBe(true);
  });

  it('import and require in one process share one copy of the package', () => {
    expect(JSON.parse(node(['both.js'], dir).trim()))
        .toEqual({sameClass: true, registered: true, instance: true, sameNames: true});
  });

  it('a default import fails (there is none), at link time with a clear message', () => {
    const result = spawnSync(process.execPath, ['default.js'], {cwd: dir, encoding: 'utf8'});
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/does not provide an export named 'default'/);
  });
});

describe('a CommonJS project', () => {
  it('requires the package, saves and loads a model, and import() gives the same classes', () => {
    const dir = project('cjs-app', {}, {
      'main.js': `
      const tf = require('@tensorflow/tfjs');
      const {selfAttention, SelfAttention} = require('tfjs-self-attention');
      (async () => {
        const model = tf.sequential({layers: [selfAttention({numHeads: 2, inputShape: [3, 4]})]});
        await model.save('file://saved');
        const loaded = await tf.loadLayersModel('file://saved/model.json');
        const imported = await import('tfjs-self-attention');
        console.log(JSON.stringify({
          loaded: loaded.layers[0] instanceof SelfAttention,
          same: tf.sub(loaded.predict(tf.ones([1, 3, 4])), model.predict(tf.ones([1, 3, 4]))).abs().max().dataSync()[0],
          sameClass: imported.SelfAttention === SelfAttention,
        }));
      })();`
    });
    expect(JSON.parse(node(['main.js'], dir).trim()))
        .toEqual({loaded: true, same: 0, sameClass: true});
  });
});

describe('a TypeScript project', () => {
  let dir: string;
  // As `tsc --init` (TypeScript 5.9) writes them, strict and then some; skipLibCheck as there,
  // since tfjs's own declarations do not pass without it.
  const strict = {
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    verbatimModuleSyntax: true,
    isolatedModules: true,
    skipLibCheck: true,
    target: 'es2022',
    types: []
  };
  beforeAll(() => {
    dir = project('ts-app', {type: 'module'}, {
      'example.ts': readmeExample(),
      // A CommonJS module of the same project: the `require` types (dist/types) give the same.
      'required.cts': `import tf = require('@tensorflow/tfjs');\n` +
          `import sa = require('tfjs-self-attention');\n` +
          `const layer = sa.selfAttention({numHeads: 2, returnAttentionWeights: true});\n` +
          `const [output, weights] = layer.apply(tf.ones([1, 3, 4]));\n` +
          `console.log(JSON.stringify([output.shape, weights.shape]));\n`,
      'default.ts': `import sa from 'tfjs-self-attention';\nconsole.log(sa);\n`,
      'tsconfig.node16.json': JSON.stringify({
        compilerOptions: {...strict, module: 'node16', moduleResolution: 'node16', outDir: 'build'},
        files: ['example.ts', 'required.cts']
      }),
      'tsconfig.bundler.json': JSON.stringify({
        compilerOptions: {...strict, module: 'esnext', moduleResolution: 'bundler', noEmit: true},
        files: ['example.ts']
      }),
      'tsconfig.default.json': JSON.stringify({
        compilerOptions: {...strict, module: 'node16', moduleResolution: 'node16', noEmit: true},
        files: ['default.ts']
      }),
    });
  });

  it('compiles the README example with --strict (node16) and runs it', () => {
    const compiled = tsc(['-p', 'tsconfig.node16.json'], dir);
    expect(compiled.stdout + compiled.stderr).toBe('');
    expect(compiled.status).toBe(0);
    const out = node([path.join('build', 'example.js')], dir);
    expect(out).toMatch(/^wasm output \[2,5,16\]$/m);
    expect(out).toMatch(
        /^loaded Embedding → SelfAttention → GlobalAveragePooling1D → Dense$/m);
    expect(JSON.parse(node([path.join('build', 'required.cjs')], dir))).toEqual([
      [1, 3, 4], [1, 2, 3, 3]
    ]);
  });

  it('compiles the README example with moduleResolution bundler', () => {
    const compiled = tsc(['-p', 'tsconfig.bundler.json'], dir);
    expect(compiled.stdout + compiled.stderr).toBe('');
    expect(compiled.status).toBe(0);
  });

  it('a default import fails to compile', () => {
    const compiled = tsc(['-p', 'tsconfig.default.json'], dir);
    expect(compiled.status).not.toBe(0);
    expect(compiled.stdout).toMatch(/default\.ts.*has no default export/);
  });
});
