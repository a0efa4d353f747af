/**
 * The file:// routers registered on import: they serve model.save/tf.loadLayersModel when no other
 * file:// handler does, and step aside for one that does (tfjs-node's), in either import order.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

type Tf = typeof import('@tensorflow/tfjs');
type Package = typeof import('../../src');

let root: string;

beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'sa-router-'));
});

afterAll(() => {
  fs.rmSync(root, {recursive: true, force: true});
});

/** A fresh copy of tfjs and of `module` (this package by default), isolated from other tests. */
function fresh(setup: (tf: Tf) => void, module = '../../src'): {tf: Tf, pkg: Package} {
  let out = {tf: null as unknown as Tf, pkg: null as unknown as Package};
  jest.isolateModules(() => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh copy needs require
    const tf = require('@tensorflow/tfjs') as Tf;
    setup(tf);
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a fresh copy needs require
    out = {tf, pkg: require(module) as Package};
  });
  return out;
}

/**
 * Another file:// handler, standing in for tfjs-node's: it writes the artifacts as JSON into
 * `<folder>/other.json` with real files, so a save through it is visible on disk.
 */
function otherRouter(tf: Tf) {
  return (url: string|string[]) => {
    if (typeof url !== 'string' || !url.startsWith('file://')) {
      return null;
    }
    const folder = url.slice('file://'.length);
    return tf.io.withSaveHandler(async artifacts => {
      fs.mkdirSync(folder, {recursive: true});
      fs.writeFileSync(path.join(folder, 'other.json'), JSON.stringify(artifacts.modelTopology));
      return {modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts)};
    });
  };
}

let models = 0;
/** Named uniquely: the isolated tfjs copies share one engine but not tfjs-layers' name counters. */
function tinyModel(tf: Tf) {
  models++;
  return tf.sequential({name: `m${models}`,
                        layers: [tf.layers.dense({units: 2, inputShape: [3], name: `dense${models}`})]});
}

describe('file:// routing', () => {
  it('with only this package, file:// URLs go to its handler (and nothing else does)', async () => {
    const {tf, pkg} = fresh(() => undefined);
    const saves = tf.io.getSaveHandlers('file://a/b');
    expect(saves.length).toBe(1);
    expect(saves[0]).toBeInstanceOf(pkg.FileSystemHandler);
    expect(tf.io.getLoadHandlers('file://a/b/model.json')[0]).toBeInstanceOf(pkg.FileSystemHandler);
    expect(tf.io.getSaveHandlers('a/b')).toEqual([]);
    // Registering again (e.g. a second copy of the package) adds no second handler.
    pkg.registerFileRouters();
    expect(tf.io.getSaveHandlers('file://a/b').length).toBe(1);

    const folder = path.join(root, 'ours');
    await tinyModel(tf).save(`file://${folder}`);
    expect(fs.readdirSync(folder).sort()).toEqual(['model.json', 'weights.bin']);
  });

  it.each([['before'], ['after']])('another file:// router registered %s the import takes precedence', async order => {
    let other: ReturnType<typeof otherRouter>|null = null;
    const {tf, pkg} = fresh(t => {
      if (order === 'before') {
        other = otherRouter(t);
        t.io.registerSaveRouter(other as never);
      }
    });
    if (order === 'after') {
      tf.io.registerSaveRouter(otherRouter(tf) as never);
    }
    const handlers = tf.io.getSaveHandlers('file://x');
    expect(handlers.length).toBe(1);
    expect(handlers[0]).not.toBeInstanceOf(pkg.FileSystemHandler);

    const folder = path.join(root, `other-${order}`);
    await tinyModel(tf).save(`file://${folder}`);
    expect(fs.readdirSync(folder)).toEqual(['other.json']);
    // This package's handler is still there when asked for by name.
    await tinyModel(tf).save(pkg.fileSystem(folder));
    expect(fs.readdirSync(folder).sort()).toEqual(['model.json', 'other.json', 'weights.bin']);
    // Loading: only this package answers file:// loads here, so tf.loadLayersModel works.
    const loaded = await tf.loadLayersModel(`file://${folder}/model.json`);
    expect(loaded.layers.length).toBe(1);
  });
});

describe('a process that has not registered the layers', () => {
  it("loading a model with SelfAttention says which classes and what to import", async () => {
    // Only the file handler, not the layers: their classes are unknown to this copy of tfjs.
    const {tf} = fresh(() => undefined, '../../src/io/file_handler');
    const file = path.join(__dirname, '..', 'fixtures', 'tfjs-node-4.22', 'model.json');
    const before = tf.memory().numTensors;
    await expect(tf.loadLayersModel(`file://${file}`)).rejects.toThrow(
        new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: unknown layer classes ` +
                   `'PositionalEmbedding' \\(layer '[^']+'\\), 'SelfAttention' \\(layer '[^']+'\\)\\. ` +
                   `Import the package .* import 'tfjs-self-attention'`));
    expect(tf.memory().numTensors).toBe(before);
  });
});
