/**
 * The browser demo's page module (bundled by serve.ts into build/demo.mjs): loads the
 * committed date model over http, translates the input as the user types (debounced), and
 * draws the decoder's cross-attention, one heatmap per head, with the heatmap module's SVG.
 * Backend: webgl, else wasm, else cpu (`?backends=wasm,cpu` picks another order).
 */
import * as tf from '@tensorflow/tfjs';
import {setWasmPaths} from '@tensorflow/tfjs-backend-wasm';

import {useBestBackend} from '../../src';
import {attentionFor, attentionProbe} from '../dates/attention';
import {Vocab, VocabJson} from '../dates/vocab';
import {headHeatmaps, heatmapSvg} from '../explain/heatmap';

/** Wait after the last keystroke before translating, in ms. */
const DEBOUNCE_MS = 250;

function element<T extends HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

async function main(): Promise<void> {
  const input = element<HTMLInputElement>('date');
  const output = element('output');
  const error = element('error');
  const status = element('status');
  const heatmaps = element('heatmaps');

  setWasmPaths('/node_modules/@tensorflow/tfjs-backend-wasm/dist/');
  const order = new URLSearchParams(location.search).get('backends')?.split(',') ??
                ['webgl', 'wasm', 'cpu'];
  const {backend, skipped} = await useBestBackend({order});
  const [model, vocabJson] = await Promise.all([
    tf.loadLayersModel('/models/dates/model.json'),
    fetch('/models/dates/vocab.json').then(r => r.json() as Promise<VocabJson>),
  ]);
  const vocab = new Vocab(vocabJson);
  const probe = await attentionProbe(model);
  status.textContent = `Backend: ${backend}` +
      (skipped.length ? ` (not used: ${skipped.map(s => `${s.backend}: ${s.reason}`).join('; ')})` : '');
  document.body.dataset['backend'] = backend;

  const update = () => {
    const text = input.value.trim();
    const problem = text === '' ? null : vocab.problem(text);
    error.textContent = problem ?? '';
    if (text === '' || problem != null) {
      output.textContent = '';
      heatmaps.replaceChildren();
    } else {
      const started = performance.now();
      const {output: iso, maps} = attentionFor(model, probe, vocab, text);
      const ms = performance.now() - started;
      output.textContent = iso;
      const cross = maps.find(m => m.kind === 'cross-attention')!;
      const svgs = headHeatmaps(cross.weights, cross.rowLabels, cross.columnLabels, {
        prefix: cross.layer, title: 'cross-attention', rowAxis: cross.rowAxis,
        columnAxis: cross.columnAxis,
      }).map(m => heatmapSvg(m, {cellSize: 22, fontSize: 12}));
      heatmaps.innerHTML = svgs.map(s => `<figure>${s}</figure>`).join('');
      status.textContent = status.textContent!.replace(/ · .*$/, '') +
          ` · translated in ${ms.toFixed(0)} ms`;
    }
    document.body.dataset['translated'] = text;
  };
  let timer: ReturnType<typeof setTimeout>|undefined;
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(update, DEBOUNCE_MS);
  });
  input.disabled = false;
  input.focus();
  document.body.dataset['state'] = 'ready';
}

main().catch(e => {
  document.body.dataset['state'] = 'failed';
  document.getElementById('error')!.textContent = `The demo failed: ${e instanceof Error ? e.message : e}`;
  console.error(e);
});
