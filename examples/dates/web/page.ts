/**
 * The date translator's page (bundled by serve.ts into build/page.mjs): translate with the
 * committed model, or train a new one from scratch in the tab and watch its attention form.
 *
 * - On load it picks a backend (webgl, else wasm, else cpu; `?backends=wasm,cpu` picks another
 *   order), loads models/dates over http, and translates the example in the box: the ISO date
 *   with its confidence, or the reason it is flagged, and the cross-attention, one heatmap per
 *   head. Typing translates again (debounced).
 * - Train builds a fresh model (the same as `npm run train:dates`) and trains it here with the
 *   shared loop, on the same data: a live chart of loss and exact match, the heatmaps of the
 *   model as it is now for the text in the box, redrawn every few seconds. Stop ends training
 *   (between two steps); the page then calibrates the new model's confidence on held-out days
 *   and translates with it. Save keeps it in IndexedDB; Load saved brings it back.
 *
 * Query parameters (for tests and the measurement): `budget` (seconds of training, default
 * none), `target` (stop once held-out exact match reaches it, default none), `curveEvery`
 * (seconds between held-out scores, default 15), `curveDays` (held-out days scored, default
 * 30), `heatmapEvery` (seconds between heatmap redraws, default 4), `epochs` (default 12).
 * The page's state is in `data-*` attributes of <body> (state, training, model, step, loss,
 * validation, heatmaps, translated).
 */
import * as tf from '@tensorflow/tfjs';
import {setWasmPaths} from '@tensorflow/tfjs-backend-wasm';

import {useBestBackend} from '../../../src';
import {headHeatmaps, heatmapSvg} from '../../shared/heatmap';
import {withSeededRandom} from '../../shared/random';
import {BatchProgress, duration, wallClock} from '../../shared/training';
import {attentionFor, attentionProbe, AttentionProbe, syncProbe} from '../attention';
import {calibrate} from '../calibrate';
import {FAMILIES, FAMILY_DESCRIPTIONS, FORMATS, render, splitDays, VALIDATION_SEED, variantSet} from '../data';
import {buildDateModel} from '../model';
import {Calibration} from '../scope';
import {trainDateModel} from '../train_loop';
import {Translator} from '../translator';
import {Vocab, VocabJson} from '../vocab';
import {LiveSeries, lineChartSvg} from './live_chart';

/** Wait after the last keystroke before translating, in ms. */
const DEBOUNCE_MS = 250;
/** Where Save keeps the trained model. */
const SAVED_URL = 'indexeddb://tfjs-self-attention-dates';
const EXAMPLE = 'Jan 20th 2019';

const params = new URLSearchParams(location.search);
const number = (name: string, fallback: number) => {
  const raw = params.get(name);
  const value = raw == null ? fallback : Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`The page parameter ${name} must be a positive number. Received: ${name}=${raw}`);
  }
  return value;
};

function element<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (e == null) {
    throw new Error(`The page has no element #${id}`);
  }
  return e as T;
}

const body = document.body.dataset;

/** What translates now: the committed model, the one trained here, or the saved one. */
interface Current {
  translator: Translator;
  probe: AttentionProbe;
  name: 'committed'|'trained'|'saved';
}

async function main(): Promise<void> {
  const input = element<HTMLInputElement>('date');
  const output = element('output');
  const status = element('status');
  const heatmaps = element('heatmaps');
  const heatmapsTitle = element('heatmaps-title');
  const trainButton = element<HTMLButtonElement>('train');
  const stopButton = element<HTMLButtonElement>('stop');
  const saveButton = element<HTMLButtonElement>('save');
  const loadButton = element<HTMLButtonElement>('load');
  const committedButton = element<HTMLButtonElement>('use-committed');
  const trainStatus = element('train-status');
  const chart = element('chart');

  showFormats(element('formats'));
  setWasmPaths('/node_modules/@tensorflow/tfjs-backend-wasm/dist/');
  const order = params.get('backends')?.split(',') ?? ['webgl', 'wasm', 'cpu'];
  const {backend, skipped} = await useBestBackend({order});
  body['backend'] = backend;
  const backendText = `Backend: ${backend}` + (skipped.length > 0 ?
      ` (not used: ${skipped.map(s => `${s.backend}: ${s.reason}`).join('; ')})` : '');
  status.textContent = backendText;
  void showMeasuredTimes(element('measured'));

  const [committedModel, vocabJson, calibrationJson] = await Promise.all([
    tf.loadLayersModel('/models/dates/model.json'),
    fetch('/models/dates/vocab.json').then(r => r.json() as Promise<VocabJson>),
    fetch('/models/dates/calibration.json').then(r => r.json() as Promise<Calibration>),
  ]);
  const vocab = new Vocab(vocabJson);
  const committed: Current = {
    translator: new Translator(committedModel, vocab, calibrationJson),
    probe: await attentionProbe(committedModel), name: 'committed',
  };
  let current = committed;
  let trained: Current|null = null;

  /** Translates the box with `current` and draws its cross-attention. */
  const update = () => {
    const text = input.value.trim();
    body['translated'] = text;
    if (text === '') {
      output.textContent = '';
      heatmaps.replaceChildren();
      return;
    }
    const started = performance.now();
    const [a] = current.translator.assess([text]);
    output.className = a!.flagged ? 'flagged' : 'ok';
    output.textContent = a!.flagged ? `flagged: ${a!.reason}` :
        `${a!.output}  (confidence ${a!.confidence.toFixed(2)})`;
    if (vocab.problem(text) == null) {
      drawHeatmaps(current, text);
    } else {
      heatmaps.replaceChildren();
    }
    status.textContent = `${backendText} · ${describe(current.name)} · translated in ${
        (performance.now() - started).toFixed(0)} ms`;
  };
  const drawHeatmaps = (c: Current, text: string) => {
    const ids = c.translator.decode([text]).ids;
    const {maps} = attentionFor(c.probe, vocab, text, ids);
    const cross = maps.find(m => m.kind === 'cross-attention')!;
    heatmaps.innerHTML = headHeatmaps(cross.weights, cross.rowLabels, cross.columnLabels, {
      prefix: cross.layer, title: 'cross-attention', rowAxis: cross.rowAxis,
      columnAxis: cross.columnAxis,
    }).map(m => `<figure>${heatmapSvg(m, {cellSize: 20, fontSize: 12})}</figure>`).join('');
    heatmapsTitle.textContent = `Cross-attention of ${describe(c.name)}`;
    body['heatmaps'] = String(Number(body['heatmaps'] ?? 0) + 1);
  };
  const use = (c: Current) => {
    current = c;
    body['model'] = c.name;
    update();
  };

  let timer: ReturnType<typeof setTimeout>|undefined;
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(update, DEBOUNCE_MS);
  });

  // Training in the tab.
  let stopRequested = false;
  const split = splitDays();
  const curveDays = number('curveDays', 30);
  const heldOut = variantSet(split.validation.slice(0, curveDays), 1, VALIDATION_SEED);
  const calibrationSet = variantSet(split.validation.slice(curveDays, 2 * curveDays), 1,
                                    VALIDATION_SEED + 1);
  const budget = params.has('budget') ? number('budget', 1) : undefined;
  const target = params.has('target') ? number('target', 1) : undefined;
  const epochs = Math.round(number('epochs', 12));
  const heatmapEvery = number('heatmapEvery', 4);

  trainButton.addEventListener('click', () => {
    void (async () => {
      trainButton.disabled = saveButton.disabled = loadButton.disabled = true;
      stopButton.disabled = false;
      stopRequested = false;
      body['training'] = 'running';
      const model = withSeededRandom(1, () => buildDateModel({
        vocabSize: vocab.size, maxInputLength: vocab.maxInputLength,
        outputLength: vocab.outputLength}));
      const live: Current = {translator: new Translator(model, vocab, committed.translator.calibration),
                             probe: await attentionProbe(model), name: 'trained'};
      const series: LiveSeries = {loss: [], accuracy: [], validation: []};
      // Heatmaps are redrawn every `heatmapEvery` seconds, and never for more than a tenth of
      // the time: a slow backend (software WebGL) redraws less often.
      let nextHeatmap = 0;
      let lastChart = -Infinity;
      const redraw = () => {
        chart.innerHTML = lineChartSvg(series, 'training here, from scratch');
      };
      const onBatch = (p: BatchProgress) => {
        series.loss.push([p.elapsed, p.loss]);
        series.accuracy.push([p.elapsed, p.accuracy]);
        body['step'] = String(p.step);
        body['loss'] = p.loss.toFixed(4);
        trainStatus.textContent = `epoch ${p.epoch}, step ${p.batch}/${p.batches}: loss ${
            p.loss.toFixed(3)}, training exact match ${(100 * p.accuracy).toFixed(1)}%, ${
            p.examplesPerSecond.toFixed(0)} examples/s, ${duration(p.elapsed)} of training`;
        if (p.elapsed - lastChart >= 1) {
          lastChart = p.elapsed;
          redraw();
        }
        const text = input.value.trim();
        if (p.elapsed >= nextHeatmap && text !== '' && vocab.problem(text) == null) {
          const started = performance.now();
          syncProbe(live.probe, model);
          drawHeatmaps(live, text);
          const cost = (performance.now() - started) / 1000;
          nextHeatmap = p.elapsed + cost + Math.max(heatmapEvery, 9 * cost);
        }
      };
      try {
        const result = await trainDateModel({
          model, vocab, trainDays: split.train, epochs, clock: wallClock(), budgetSeconds: budget,
          curveValidation: heldOut, curveEverySeconds: number('curveEvery', 15), seed: 1,
          lengthMultiple: backend === 'webgl' ? 16 : 1,
          onBatch, yieldToEvents: () => new Promise(resolve => setTimeout(resolve, 0)),
          stopRequested: () => stopRequested ||
              (target != null && (series.validation.at(-1)?.[1] ?? 0) >= target),
          onCurvePoint: point => {
            series.validation.push([point.trainSeconds, point.validationAccuracy]);
            body['validation'] = point.validationAccuracy.toFixed(4);
            body['trainSeconds'] = point.trainSeconds.toFixed(1);
            redraw();
          },
        });
        trainStatus.textContent = `Stopped (${result.stoppedBecause}) after ${
            duration(result.elapsed)} of training, ${result.steps} steps, ${
            result.examples} examples; held-out exact match ${(100 * (series.validation.at(-1)?.[1] ??
            0)).toFixed(2)}%. Calibrating its confidence on ${calibrationSet.length} other held-out examples…`;
        await tf.nextFrame();
        const cal = calibrate(model, vocab, calibrationSet, `${curveDays} held-out days, in the page`);
        trained = {translator: new Translator(model, vocab, cal.calibration), probe: live.probe,
                   name: 'trained'};
        syncProbe(trained.probe, model);
        trainStatus.textContent += ` Done: translating with it now.`;
        use(trained);
        saveButton.disabled = false;
        body['training'] = 'done';
      } catch (e) {
        trainStatus.textContent = `Training failed: ${e instanceof Error ? e.message : e}`;
        body['training'] = 'failed';
        console.error(e);
      } finally {
        trainButton.disabled = loadButton.disabled = false;
        stopButton.disabled = true;
      }
    })();
  });
  stopButton.addEventListener('click', () => {
    stopRequested = true;
    stopButton.disabled = true;
    trainStatus.textContent = 'Stopping after this step…';
  });
  saveButton.addEventListener('click', () => {
    void (async () => {
      if (trained == null) {
        return;
      }
      const model = trained.translator.model;
      model.setUserDefinedMetadata({vocab: vocab.toJSON(),
                                    calibration: trained.translator.calibration});
      await model.save(SAVED_URL);
      trainStatus.textContent = `Saved in this browser (${SAVED_URL}).`;
      body['saved'] = 'yes';
    })();
  });
  loadButton.addEventListener('click', () => {
    void (async () => {
      try {
        const model = await tf.loadLayersModel(SAVED_URL);
        const meta = model.getUserDefinedMetadata() as
            {vocab: VocabJson, calibration: Calibration}|undefined;
        if (meta?.vocab == null || meta.calibration == null) {
          throw new Error('the saved model has no vocabulary or calibration');
        }
        use({translator: new Translator(model, new Vocab(meta.vocab), meta.calibration),
             probe: await attentionProbe(model), name: 'saved'});
        trainStatus.textContent = 'Translating with the model saved in this browser.';
      } catch (e) {
        trainStatus.textContent = `No saved model to load (${e instanceof Error ? e.message : e}).`;
      }
    })();
  });
  committedButton.addEventListener('click', () => use(committed));

  input.value = EXAMPLE;
  use(committed);
  input.disabled = trainButton.disabled = loadButton.disabled = committedButton.disabled = false;
  body['state'] = 'ready';
}

function describe(name: Current['name']): string {
  return name === 'committed' ? 'the committed model (models/dates)' :
      name === 'trained' ? 'the model trained in this tab' : 'the model saved in this browser';
}

/** The formats the model knows, each with 2019-01-20 written in it, and the variant families. */
function showFormats(list: HTMLElement): void {
  const day = {year: 2019, month: 1, day: 20};
  list.innerHTML = `<p>${FORMATS.map(f => `<code>${escapeHtml(render(f, day))}</code>`).join(' · ')
      }</p><p>and their variants:</p><ul>${FAMILIES.map(
          f => `<li><b>${f}</b>: ${escapeHtml(FAMILY_DESCRIPTIONS[f])}</li>`).join('')}</ul>`;
}

/** What the measurement (npm run measure:demo) found, if it has run. */
async function showMeasuredTimes(target: HTMLElement): Promise<void> {
  const response = await fetch('/examples/dates/results/browser_training.json');
  if (!response.ok) {
    return;
  }
  const r = await response.json() as {text: string};
  target.textContent = r.text;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

main().catch(e => {
  body['state'] = 'failed';
  document.getElementById('status')!.textContent =
      `The page failed: ${e instanceof Error ? e.message : e}`;
  console.error(e);
});

