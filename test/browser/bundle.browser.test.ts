/**
 * The package's browser build (dist/esm) through a bundler: esbuild bundles it with tfjs for the
 * browser (no Node built-in may be needed), and the bundle runs in headless Chromium.
 */
import * as fs from 'fs';
import * as path from 'path';

import * as esbuild from 'esbuild';
import * as tf from '@tensorflow/tfjs';

import {selfAttention} from '../../src';
import {browserPrecondition, BrowserSession, callInPage, findChromium, openBrowser, REPO_ROOT} from '../helpers/browser/harness';

const precondition = browserPrecondition();
/** Starting Chromium on a busy machine. */
const BROWSER_HOOK_TIMEOUT_MS = 300_000;
const OUT = path.join(REPO_ROOT, '.tmp', 'browser', 'bundled_app.mjs');
const INPUT = [[[1, 0, 2, 0], [0, 1, 0, 3], [1, 1, 1, 1]]];

const APP = `
import * as tf from '@tensorflow/tfjs';
import {selfAttention, useBestBackend} from ${JSON.stringify(path.join(REPO_ROOT, 'dist', 'esm', 'index.mjs'))};
export async function run(input) {
  const choice = await useBestBackend();
  const y = selfAttention({numHeads: 2}).apply(tf.tensor3d(input));
  return {choice, shape: y.shape, values: Array.from(await y.data())};
}
`;

if (precondition.skip != null) {
  describe('the browser build through a bundler', () => {
    it(`is not run: ${precondition.skip}`, () => {
      expect(findChromium()).toBeNull();
    });
  });
} else {
  let session: BrowserSession;
  beforeAll(async () => {
    session = await openBrowser(precondition.executable);
  }, BROWSER_HOOK_TIMEOUT_MS);
  afterAll(async () => {
    await session?.close();
  });

  it('bundles for the browser with tfjs, without Node built-ins, and runs in the page', async () => {
    const result = await esbuild.build({
      stdin: {contents: APP, resolveDir: REPO_ROOT, loader: 'js'},
      outfile: OUT, bundle: true, format: 'esm', platform: 'browser', logLevel: 'silent',
      metafile: true,
    });
    expect(result.errors).toEqual([]);
    const inputs = Object.keys(result.metafile!.inputs);
    expect(inputs).toContain('dist/esm/index.mjs');
    expect(inputs.filter(i => /^(node:|fs$|path$|os$|module$)/.test(i))).toEqual([]);
    expect(fs.readFileSync(OUT, 'utf8')).not.toMatch(/require\(["'](fs|path|module|node:[a-z]+)["']\)/);

    const page = await session.newPage();
    const url = '/' + path.relative(REPO_ROOT, OUT).split(path.sep).join('/');
    const got = await callInPage<{choice: {backend: string}, shape: number[], values: number[]}>(
        page, url, 'run', INPUT);
    // This bundle registers tfjs's own backends only: webgpu is skipped, webgl chosen.
    expect(got.choice.backend).toBe('webgl');
    expect(got.shape).toEqual([1, 3, 4]);
    await tf.setBackend('cpu');
    const expected = Array.from((selfAttention({numHeads: 2}).apply(tf.tensor3d(INPUT)) as tf.Tensor).dataSync());
    got.values.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThan(1e-5));
    expect(page.errors).toEqual([]);
  });
}
