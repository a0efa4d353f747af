/**
 * Loading a model over http(s) with the checks the file handler makes, for models you did not
 * make yourself. tfjs's own loader (`tf.loadLayersModel('https://…/model.json')`) fetches each
 * `weightsManifest.paths` entry by gluing it to the model.json's folder URL, so a model.json can
 * make the page fetch any URL of its origin (`../../api/me`), and it reads whatever each
 * response holds. `checkedHttp(url)`:
 *
 * - fetches only URLs inside the model.json's folder: a path with a scheme (`https:`), a host
 *   (`//x`), an absolute path (`/x`) or one that climbs out (`../x`) is refused before any
 *   request is made;
 * - knows from the manifest how many bytes each group must have, refuses a response whose
 *   Content-Length says otherwise before reading it, and stops reading one that runs longer;
 * - verifies the SHA-256 that this package's saves record (SubtleCrypto in the page, Node's
 *   crypto in Node; a small built-in implementation where the page has no SubtleCrypto, e.g.
 *   plain http from another machine);
 * - then checks the layers and weights as file:// loads do (unknown classes, names, shapes,
 *   dtypes, topologies asking for more weights than the file holds), building nothing that
 *   stays behind.
 * The model.json's own query string (e.g. a signed URL's) is added to each weights URL, as tfjs
 * does. Errors name the model.json URL and the entry.
 */
import * as tf from '@tensorflow/tfjs';

import {sha256Mismatch} from './sha256';
import {checkedArtifacts, concat, LoadCheckOptions, readWeightsManifest} from './validate';

/** Options of {@link checkedHttp}. */
export interface CheckedHttpOptions extends LoadCheckOptions {
  /** The fetch to use. Default: the global `fetch`. */
  fetchFunc?: typeof fetch;
  /** Passed to every request (credentials, headers). Default: none. */
  requestInit?: RequestInit;
}

/** The page's address, to resolve a relative model URL against (none in Node). */
function baseUrl(): string|undefined {
  return (globalThis as {location?: {href?: string}}).location?.href;
}

/** The URL of `entry` inside `folder`, or an error when it would leave it. */
function confinedUrl(entry: string, modelUrl: URL, folder: URL, listedIn: string): URL {
  const outside = () => new Error(
      `${listedIn} lists the file ${JSON.stringify(entry)}, which is outside the model's folder ` +
      `${folder.href}. A model may only read files inside its own folder.`);
  if (typeof entry !== 'string' || entry.length === 0 || /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(entry) ||
      entry.startsWith('/') || entry.startsWith('\\') || entry.includes('?') || entry.includes('#')) {
    throw outside();
  }
  const url = new URL(entry, folder);
  if (url.origin !== folder.origin || !url.pathname.startsWith(folder.pathname) ||
      url.pathname === folder.pathname) {
    throw outside();
  }
  url.search = modelUrl.search;
  return url;
}

/**
 * The body of `response`, read at most to `limit` bytes (null: no limit): a response that runs
 * past it is cancelled and null is returned, so that the caller reports it as too long.
 */
async function readBody(response: Response, limit: number|null): Promise<Uint8Array|null> {
  if (response.body == null || limit === null) {
    const data = new Uint8Array(await response.arrayBuffer());
    return limit !== null && data.byteLength > limit ? null : data;
  }
  const reader = response.body.getReader();
  // The leading empty part makes concat copy even a single chunk into an array of this realm
  // (a fetch's chunks may belong to another one, e.g. Node's own under jest's vm contexts).
  const chunks: Uint8Array[] = [new Uint8Array(0)];
  let total = 0;
  for (;;) {
    const {done, value} = await reader.read();
    if (done) {
      break;
    }
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return concat(chunks);
}

/** An IOHandler that loads a model over http(s), checked (see the module comment). */
export class CheckedHttpHandler implements tf.io.IOHandler {
  /** The model.json's URL, as given (relative to the page in a browser). */
  readonly url: string;
  private readonly options: CheckedHttpOptions;

  constructor(url: string, options: CheckedHttpOptions = {}) {
    if (typeof url !== 'string' || url.length === 0) {
      throw new Error(`checkedHttp: url must be the URL of a model.json. Received: ` +
                      `url=${JSON.stringify(url)}`);
    }
    this.url = url;
    this.options = options;
  }

  /**
   * Called by `tf.loadLayersModel`: fetches model.json and its weights files (only from its own
   * folder), checked while read, before anything is built.
   */
  async load(): Promise<tf.io.ModelArtifacts> {
    let modelUrl: URL;
    try {
      modelUrl = new URL(this.url, baseUrl());
    } catch {
      throw new Error(`checkedHttp: url must be an absolute http(s) URL here (there is no page ` +
                      `to resolve it against). Received: url=${JSON.stringify(this.url)}`);
    }
    const listedIn = modelUrl.href;
    const response = await fetchWith(this.options, modelUrl);
    if (!response.ok) {
      throw new Error(`Cannot load ${listedIn}: the server answered HTTP ${response.status}.`);
    }
    // Parsed here, not by response.json(): the arrays must belong to this realm for tfjs.
    const text = await response.text();
    return checkedArtifacts(text, listedIn, manifest => readWeightsManifest(
        manifest, listedIn, (group, expected, sizeSource) => fetchModelFiles(
            modelUrl, group.paths, {...this.options, totalBytes: expected ?? undefined,
                                    sha256: group.sha256, sizeSource})),
        this.options);
  }
}

function fetchWith(
    options: {fetchFunc?: typeof fetch|undefined, requestInit?: RequestInit|undefined},
    url: URL): Promise<Response> {
  const fetchFunc = options.fetchFunc ?? globalThis.fetch;
  if (typeof fetchFunc !== 'function') {
    throw new Error('checkedHttp: there is no fetch here; pass one as options.fetchFunc.');
  }
  return fetchFunc(url.href, options.requestInit);
}

/** What {@link fetchModelFiles} checks, and how it fetches. */
export interface FetchModelFilesOptions {
  /** Bytes the files must have together; a response that would pass it is not read on. */
  totalBytes?: number|undefined;
  /** SHA-256 (hex) each file must have, in the order of the paths; `null` checks none. */
  sha256?: Array<string|null>|undefined;
  /** How errors describe the expected size. Default 'expected'. */
  sizeSource?: string|undefined;
  /** The fetch to use. Default: the global `fetch`. */
  fetchFunc?: typeof fetch|undefined;
  /** Passed to every request. Default: none. */
  requestInit?: RequestInit|undefined;
}

/**
 * The http(s) twin of readModelFiles: fetches the files `paths` that the model.json at
 * `modelUrl` lists, each confined to the model.json's folder (refused before any request
 * otherwise), holding them to `totalBytes` together (Content-Length checked before reading,
 * reading stopped past it), then verifying their SHA-256. Errors name the model.json URL and the
 * entry. The model.json's query string is added to each URL, as tfjs does.
 *
 * ```ts
 * const [shard] = await fetchModelFiles('https://example.com/m/model.json', ['group1-shard1of1.bin'],
 *                                       {totalBytes: 4000});
 * ```
 */
export async function fetchModelFiles(modelUrl: URL|string, paths: string[],
                                      options: FetchModelFilesOptions = {}): Promise<Uint8Array[]> {
  const model = new URL(modelUrl, baseUrl());
  const listedIn = model.href;
  const folder = new URL('.', model);
  folder.search = '';
  const expected = options.totalBytes ?? null;
  const sizeSource = options.sizeSource ?? 'expected';
  const urls = paths.map(p => confinedUrl(p, model, folder, listedIn));
  const where = urls.length === 1 ? urls[0]!.href :
      `the files ${urls.map(u => u.href).join(', ')} together`;
  const tooLong = (received: string) => new Error(
      `Cannot load ${listedIn}: ${where} ${urls.length > 1 ? 'have' : 'has'} ${received} ` +
      `bytes, longer than the ${expected} bytes ${sizeSource}.`);
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const [i, url] of urls.entries()) {
    const response = await fetchWith(options, url);
    if (!response.ok) {
      throw new Error(`Cannot load ${listedIn}: its weights file ${url.href} (listed as ` +
                      `${JSON.stringify(paths[i])}) answered HTTP ${response.status}.`);
    }
    const left = expected === null ? null : expected - total;
    const declared = Number(response.headers.get('content-length'));
    const encoded = response.headers.get('content-encoding');
    if (left !== null && (encoded == null || encoded === 'identity') &&
        response.headers.has('content-length') && declared > left) {
      await response.body?.cancel();
      throw tooLong(`${total + declared}`);
    }
    const data = await readBody(response, left);
    if (data === null) {
      throw tooLong('more than that');
    }
    total += data.byteLength;
    parts.push(data);
  }
  if (expected !== null && total !== expected) {
    throw new Error(`Cannot load ${listedIn}: ${where} ${urls.length > 1 ? 'have' : 'has'} ` +
                    `${total} bytes, shorter than the ${expected} bytes ${sizeSource}.`);
  }
  for (const [i, data] of parts.entries()) {
    const hash = options.sha256?.[i];
    const mismatch = hash == null ? null : await sha256Mismatch(data, hash, listedIn, urls[i]!.href);
    if (mismatch !== null) {
      throw new Error(mismatch);
    }
  }
  return parts;
}

/**
 * An IOHandler that loads a model.json and its weights over http(s) with the file handler's
 * checks: only files inside the model.json's folder are fetched, each no longer than the
 * manifest implies, their SHA-256 verified when recorded, and the weights checked against the
 * layers before anything is built. Use it for models you did not make yourself; tfjs's own
 * `tf.loadLayersModel(url)` does none of this.
 *
 * ```js
 * const model = await tf.loadLayersModel(checkedHttp('https://example.com/models/x/model.json'));
 * ```
 */
export function checkedHttp(url: string, options?: CheckedHttpOptions): CheckedHttpHandler {
  return new CheckedHttpHandler(url, options);
}
