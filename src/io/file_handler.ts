/**
 * Saving and loading models as files on disk in Node, with plain `@tensorflow/tfjs` (no
 * tfjs-node needed): `model.save('file://models/x')`, `tf.loadLayersModel('file://models/x/model.json')`.
 *
 * The layout is tfjs's standard one, the same as tfjs-node writes and reads: a folder with
 * `model.json` (topology, training config, weights manifest) and `weights.bin`. Saves replace
 * the folder atomically (see atomic_directory.ts); loads check the files before building
 * anything (see validate.ts).
 *
 * Importing the package registers a `file://` router for `model.save` and `tf.loadLayersModel`.
 * It steps aside whenever another `file://` router answers (tfjs-node's, whichever was imported
 * first), since tfjs refuses a URL that two handlers claim; `fileSystem(path)` always uses this
 * one.
 */
import * as tf from '@tensorflow/tfjs';

import {AtomicWriteOptions, committedFolder, writeFolderAtomically} from './atomic_directory';
import {readModelFiles, readUserFile} from './model_files';
import {code, isNode, NodeModules, nodeModules} from './node_fs';
import {sha256Hex} from './sha256';
import {checkedArtifacts, LoadCheckOptions, ManifestGroup, readWeightsManifest} from './validate';

export const FILE_SCHEME = 'file://';
export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

/** Options of {@link fileSystem}. */
export interface FileSystemOptions extends LoadCheckOptions {
  /** Steps of the atomic save, for tests that kill the process at an exact point. */
  onSaveStep?: AtomicWriteOptions['onStep']|undefined;
}

/** Reads of a folder that a save swapped meanwhile before a load gives up. */
const LOAD_ATTEMPTS = 12;

function stripScheme(path: string): string {
  return path.startsWith(FILE_SCHEME) ? path.slice(FILE_SCHEME.length) : path;
}


/**
 * An IOHandler for a model folder on disk.
 * Saving: `path` is the folder (created if needed; an existing one is replaced atomically,
 * keeping every file in it other than model.json and weights.bin, e.g. a vocabulary; a link to
 * a folder is saved through; the working directory and the folders above it are refused).
 * Loading: `path` is the model.json file, or the folder holding it.
 *
 * ```ts
 * const handler = new FileSystemHandler('models/x');   // as fileSystem('models/x')
 * await model.save(handler);                           // models/x/model.json + weights.bin
 * ```
 */
export class FileSystemHandler implements tf.io.IOHandler {
  /** The folder (saving) or the model.json file or its folder (loading), without 'file://'. */
  readonly path: string;
  private readonly options: FileSystemOptions;

  constructor(path: string, options: FileSystemOptions = {}) {
    if (typeof path !== 'string' || stripScheme(path).length === 0) {
      throw new Error(`fileSystem: path must be a non-empty folder or model.json path. ` +
                      `Received: path=${JSON.stringify(path)}`);
    }
    this.path = stripScheme(path);
    this.options = options;
  }

  /** Called by `model.save`: writes model.json and weights.bin into `path`, atomically. */
  async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
    const node = await nodeModules();
    if (artifacts.modelTopology instanceof ArrayBuffer) {
      throw new Error('fileSystem: saving a binary (GraphDef) topology is not supported; ' +
                      'save a layers model.');
    }
    let folder = node.path.resolve(this.path);
    if (node.path.basename(folder) === MODEL_JSON) {
      folder = node.path.dirname(folder);
    }
    const weightData = artifacts.weightData == null ? new ArrayBuffer(0) :
        tf.io.CompositeArrayBuffer.join(artifacts.weightData);
    const weightBytes = new Uint8Array(weightData);
    // The SHA-256 sits in the manifest group, beside `paths`: tfjs and tfjs-node read only
    // `paths` and `weights` there, so they load these files as before.
    const group: ManifestGroup = {paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [],
                                  sha256: [await sha256Hex(weightBytes)]};
    const modelJson: tf.io.ModelJSON = {
      modelTopology: artifacts.modelTopology ?? {},
      weightsManifest: [group],
      ...(artifacts.format != null && {format: artifacts.format}),
      ...(artifacts.generatedBy != null && {generatedBy: artifacts.generatedBy}),
      ...(artifacts.convertedBy !== undefined && {convertedBy: artifacts.convertedBy}),
    };
    const optional = ['trainingConfig', 'signature', 'userDefinedMetadata', 'modelInitializer',
                      'initializerSignature'] as const;
    for (const key of optional) {
      if (artifacts[key] != null) {
        (modelJson as unknown as Record<string, unknown>)[key] = artifacts[key];
      }
    }
    // Only the two files a save writes are replaced; everything else in the folder (a
    // vocabulary, notes, files some other tool wrote) is carried over untouched.
    await writeFolderAtomically(folder, [
      {name: WEIGHTS_BIN, data: weightBytes},
      {name: MODEL_JSON, data: JSON.stringify(modelJson)},  // last: its presence means complete
    ], {keep: name => name !== MODEL_JSON && name !== WEIGHTS_BIN, onStep: this.options.onSaveStep,
        label: this.path});
    return {modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts)};
  }

  /**
   * Called by `tf.loadLayersModel`: reads and checks model.json and its weights files (only the
   * model's own), before anything is built.
   */
  async load(): Promise<tf.io.ModelArtifacts> {
    const node = await nodeModules();
    let file = node.path.resolve(this.path);
    if (!file.endsWith('.json')) {
      file = node.path.join(file, MODEL_JSON);
    }
    // A save may swap the folder while it is read: read again when that happened, after a
    // pause that grows (random, so that a reader does not stay in step with a writer that saves
    // in a loop).
    for (let attempt = 0;; attempt++) {
      try {
        return await this.loadOnce(node, file);
      } catch (e) {
        if (!(e instanceof FolderChanged) || attempt >= LOAD_ATTEMPTS - 1) {
          throw e instanceof FolderChanged ? e.original : e;
        }
        await new Promise(resolve => setTimeout(resolve, Math.random() * 5 * (attempt + 1)));
      }
    }
  }

  private async loadOnce(node: NodeModules, requested: string): Promise<tf.io.ModelArtifacts> {
    const requestedFolder = node.path.dirname(requested);
    const committed = await committedFolder(requestedFolder);
    if (committed === null) {
      throw new Error(`Cannot load ${requested}: the folder ${requestedFolder} does not exist.`);
    }
    const folder = committed.folder;
    const file = node.path.join(folder, node.path.basename(requested));
    const identity = await folderIdentity(node, folder);
    if (identity === MISSING) {  // gone since it was found: a save just finished
      throw new FolderChanged(new Error(`Cannot load ${requested}: ${folder} vanished while ` +
                                        'it was opened.'));
    }
    try {
      return await this.readChecked(node, file, folder, identity, committed.recovered,
                                    requestedFolder);
    } catch (e) {
      // Any failure while a save swapped the folder (a file gone, sizes that do not match) is
      // a reason to read again, not an answer.
      if ((await folderIdentity(node, folder)) !== identity) {
        throw new FolderChanged(e as Error);
      }
      throw e;
    }
  }

  /** Reads and checks; `identity` is the folder's before anything was read from it. */
  /** Reads and checks; `identity` is the folder's before anything was read from it. */
  private async readChecked(node: NodeModules, file: string, folder: string, identity: string,
                            recovered: boolean, requestedFolder: string):
      Promise<tf.io.ModelArtifacts> {
    const text = new TextDecoder().decode(await readUserFile(file));
    const artifacts = await checkedArtifacts(
        text, file, manifest => this.readWeights(manifest, folder, file), {
          ...this.options,
          afterRead: async () => {
            if ((await folderIdentity(node, folder)) !== identity) {
              throw new Error(`${folder} was replaced while it was read.`);
            }
          },
        });
    if (recovered) {
      console.warn(`tfjs-self-attention: ${requestedFolder} is missing because a save to it was ` +
                   `interrupted; loaded the previous model from ${folder}. The next save to ` +
                   `${requestedFolder} puts it back in place.`);
    }
    return artifacts;
  }

  /**
   * Reads each weights group's files, confined to the model's folder, after checking that their
   * sizes are what the group's shapes and dtypes imply, and verifies their SHA-256 when the
   * group records one (see readModelFiles).
   */
  private readWeights(manifest: tf.io.WeightsManifestConfig, folder: string, file: string):
      Promise<[tf.io.WeightsManifestEntry[], ArrayBuffer]> {
    return readWeightsManifest(manifest, file, (group, expected, sizeSource) => readModelFiles(
        folder, group.paths,
        {totalBytes: expected ?? undefined, sha256: group.sha256, listedIn: file, sizeSource}));
  }
}

class FolderChanged extends Error {
  readonly original: Error;
  constructor(original: Error) {
    super(original.message);
    this.original = original;
  }
}

const MISSING = 'missing';

async function folderIdentity(node: NodeModules, folder: string): Promise<string> {
  try {
    const stats = await node.fs.stat(folder);
    // Not the inode alone: a folder deleted by one save frees its inode number, and the next
    // save's folder may get it. Its birth and change times (sub-millisecond) differ.
    return `${stats.dev}:${stats.ino}:${stats.birthtimeMs}:${stats.ctimeMs}`;
  } catch (e) {
    if (code(e) === 'ENOENT') {
      return MISSING;
    }
    throw e;
  }
}

/**
 * An IOHandler that saves a model into a folder (`model.json` + `weights.bin`, replaced
 * atomically) and loads it back with checks. `path` may start with 'file://'.
 *
 * ```js
 * await model.save(fileSystem('models/x'));
 * const loaded = await tf.loadLayersModel(fileSystem('models/x/model.json'));
 * ```
 */
export function fileSystem(path: string, options?: FileSystemOptions): FileSystemHandler {
  return new FileSystemHandler(path, options);
}

// ---- the file:// routers ----

let routing = false;

function fileRouter(kind: 'save'|'load') {
  // tfjs's IORouter type omits the null that its registry expects from a router that passes.
  return ((url: string|string[], loadOptions?: tf.io.LoadOptions): FileSystemHandler|null => {
    if (routing || typeof url !== 'string' || !url.startsWith(FILE_SCHEME) || !isNode()) {
      return null;
    }
    routing = true;  // ask the other routers, with this one answering null meanwhile
    let others: unknown[];
    try {
      others = kind === 'save' ? tf.io.getSaveHandlers(url) : tf.io.getLoadHandlers(url, loadOptions);
    } finally {
      routing = false;
    }
    return others.length > 0 ? null : fileSystem(url, {strict: loadOptions?.strict});
  }) as Parameters<typeof tf.io.registerSaveRouter>[0];
}

const REGISTERED = Symbol.for('tfjs-self-attention.fileRouters');

/**
 * Registers the `file://` routers, once per copy of tfjs even when several copies of this
 * package are loaded (importing the package does this).
 *
 * ```ts
 * registerFileRouters();  // idempotent: again after tf.io's registries were reset, e.g. in tests
 * await model.save('file://models/x');
 * ```
 */
export function registerFileRouters(): void {
  const global = globalThis as unknown as Record<symbol, WeakSet<object>|undefined>;
  const done = global[REGISTERED] ??= new WeakSet<object>();
  if (done.has(tf.io)) {
    return;
  }
  done.add(tf.io);
  tf.io.registerSaveRouter(fileRouter('save'));
  tf.io.registerLoadRouter(fileRouter('load'));
}

registerFileRouters();
