/**
 * The conformance suite on the Node backends: cpu, wasm, and tensorflow (tfjs-node) when it is
 * installed. The same runner and fixtures run in headless Chromium (test/browser/, with test/helpers/conformance/).
 */
import * as tf from '@tensorflow/tfjs';

import {AttentionPath, useBestBackend} from '../../src';
import {expectCasePasses, expectFitWorks} from '../helpers/conformance/assertions';
import {ConformanceReport, runConformance, runFitCheck} from '../helpers/conformance/runner';
import {toleranceFor} from '../helpers/conformance/tolerances';
import {ConformanceFixtures} from '../helpers/conformance/types';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- a large JSON file: require keeps the compiler from typing all of it
const fixtures = require('../helpers/conformance/fixtures.json') as ConformanceFixtures;

function installed(name: string): boolean {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}

const backends = ['cpu', 'wasm', ...(installed('@tensorflow/tfjs-node') ? ['tensorflow'] : [])];

// Every attention path the layer can take, each against the same float64 fixtures.
const paths: AttentionPath[] = ['auto', 'standard', 'fast', 'memoryEfficient'];
const runs = backends.flatMap(backend => paths.map(path => [backend, path] as const));

describe.each(runs)('conformance on %s, path %s', (backend, path) => {
  let report: ConformanceReport;
  beforeAll(async () => {
    const choice = await useBestBackend({order: [backend]});
    expect(choice.backend).toBe(backend);
    expect(tf.getBackend()).toBe(backend);
    report = await runConformance(fixtures, toleranceFor(backend), path);
    console.log(`conformance on ${backend}, path ${path}: max |diff| vs float64: output ${
        report.maxAbsDiff.output.toExponential(2)}, attention ${
        report.maxAbsDiff.attention.toExponential(2)}, gradients ${
        report.maxAbsDiff.gradient.toExponential(2)} (relative ${
        report.maxAbsDiff.gradientRelative.toExponential(2)})`);
  });

  it.each(fixtures.cases.map(c => c.name))('%s', name => {
    expect(report.backend).toBe(backend);
    expectCasePasses(report.cases.find(c => c.name === name), name);
  });

  // The fit check is about the backend: defined once per backend, with the 'auto' path.
  const itOnce = path === 'auto' ? it : () => undefined;
  itOnce('a short fit lowers the loss and leaks no tensor across steps', async () => {
    const fit = await runFitCheck();
    expect(fit.backend).toBe(backend);
    expectFitWorks(fit);
  });
});

describe('useBestBackend', () => {
  it('in Node picks tfjs-node when installed, else wasm, and says why', async () => {
    const lines: string[] = [];
    const choice = await useBestBackend({log: line => lines.push(line)});
    const expected = installed('@tensorflow/tfjs-node') ? 'tensorflow' : 'wasm';
    expect(choice.backend).toBe(expected);
    expect(tf.getBackend()).toBe(expected);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`'${expected}'`);
    if (expected === 'wasm') {
      expect(choice.skipped).toEqual([{backend: 'tensorflow',
                                       reason: '@tensorflow/tfjs-node is not installed'}]);
    }
  });

  it('falls back to cpu when the better ones are unknown', async () => {
    const choice = await useBestBackend({order: ['no-such-backend', 'cpu']});
    expect(choice.backend).toBe('cpu');
    expect(choice.skipped[0]!.backend).toBe('no-such-backend');
  });

  it('rejects a bad order and reports when nothing works', async () => {
    await expect(useBestBackend({order: []})).rejects.toThrow(/order must be a non-empty array.*Received: order=\[\]/);
    await expect(useBestBackend({order: ['nope']})).rejects.toThrow(/no backend of \[nope\].*nope: not registered/);
  });
});
