/**
 * `npm run evaluate:dates`: measures the translator end to end, as `npm run translate` runs it
 * (greedy decoding, confidence, checks), on sets it was never trained on, and writes
 * examples/dates/results/evaluation.{json,md}:
 *
 * - held-out test days (never in training) × every format, once canonical and once in a
 *   variant: exact match of the unflagged output, per format and per variant family, and the
 *   share of right translations that are flagged anyway (false alarms);
 * - the out-of-scope set (out_of_scope.ts): the share flagged, per kind, and which check
 *   caught it.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import {useBackend} from '../shared/backend';
import {Command, Options, runCommand} from '../shared/cli';
import {splitDays, TEST_SEED, variantSet} from './data';
import {loadModel} from './model_files';
import {OUT_OF_SCOPE_KINDS, outOfScopeSet} from './out_of_scope';
import {accuracyReport, FormatReport, percent, reportLines} from './report';
import {Assessment} from './scope';
import {Translator} from './translator';

export const EVALUATE_COMMAND = {
  name: 'npm run evaluate:dates --',
  summary: 'Measures the date translator as `npm run translate` runs it: exact match on held-out ' +
           'test days in every format and variant, false alarms, and how many out-of-scope ' +
           'inputs it flags. Writes <out>/evaluation.json and evaluation.md.',
  examples: ['npm run evaluate:dates', 'npm run evaluate:dates -- --model trained/dates --out .tmp'],
  options: {
    model: {default: 'models/dates', help: 'model folder'},
    out: {default: 'examples/dates/results', help: 'folder of evaluation.json and evaluation.md'},
    testDays: {default: 2500, help: 'held-out test days to use (of 2500)', integer: true, min: 1,
               max: 2500},
    outOfScope: {default: 500, help: 'out-of-scope inputs per kind', integer: true, min: 1},
    backend: {default: 'wasm', help: "tfjs backend ('best': the package's choice)"},
  },
} satisfies Command;

/** Which check flagged an assessment (see scope.ts). */
export function flaggedBy(a: Assessment): string {
  const r = a.reason ?? '';
  return !a.flagged ? 'not flagged' :
      /vocabulary|characters, more than|empty/.test(r) ? 'input unreadable' :
      /not a real date|outside \d{4}–\d{4}/.test(r) && r.startsWith("the model's answer") ?
                     'output not a supported day' :
      r.startsWith('the model is unsure') ? 'low confidence' : 'input disagrees with output';
}

async function main(o: Options<typeof EVALUATE_COMMAND>): Promise<void> {
  const backend = await useBackend(o.backend);
  const {model, vocab, calibration} = await loadModel(o.model);
  const translator = new Translator(model, vocab, calibration);
  const started = Date.now();

  const test = variantSet(splitDays().test.slice(0, o.testDays), 1, TEST_SEED);
  const assessed = translator.assess(test.map(e => e.input));
  const right = assessed.map((a, i) => a.output === test[i]!.target);
  const modelRight = assessed.map((a, i) => a.guess === test[i]!.target);
  const report: FormatReport = accuracyReport(test, right);
  const correct = modelRight.filter(Boolean).length;
  const falseAlarms = assessed.filter((a, i) => modelRight[i] && a.flagged).length;
  const wrong = test.length - correct;
  const wrongFlagged = assessed.filter((a, i) => !modelRight[i] && a.flagged).length;

  const outOfScope = outOfScopeSet(o.outOfScope);
  const oos = translator.assess(outOfScope.map(e => e.input));
  const kinds = OUT_OF_SCOPE_KINDS.map(kind => {
    const picked = oos.filter((_, i) => outOfScope[i]!.kind === kind);
    const by: Record<string, number> = {};
    for (const a of picked) {
      by[flaggedBy(a)] = (by[flaggedBy(a)] ?? 0) + 1;
    }
    return {kind, examples: picked.length,
            flagged: picked.filter(a => a.flagged).length / Math.max(1, picked.length),
            flaggedBy: by,
            missed: picked.filter(a => !a.flagged).slice(0, 5).map(a => `${a.input} → ${a.output}`)};
  });
  const oosFlagged = oos.filter(a => a.flagged).length / Math.max(1, oos.length);
  const lowConfidence = oos.filter(a => a.flagged && a.confidence < calibration.threshold).length /
      Math.max(1, oos.length);
  const seconds = (Date.now() - started) / 1000;

  const result = {
    command: `npm run evaluate:dates -- ${process.argv.slice(2).join(' ')}`.trim(), model: o.model,
    backend, date: new Date().toISOString(), seconds, loadAverage: os.loadavg(), calibration,
    test: {
      examples: test.length, exactMatch: report.overall,
      modelExactMatch: correct / test.length,
      falseAlarms: falseAlarms / Math.max(1, correct), wrongFlagged: wrongFlagged / Math.max(1, wrong),
      wrong, report,
    },
    outOfScope: {examples: oos.length, flagged: oosFlagged,
                 flaggedWithLowConfidence: lowConfidence, kinds},
  };
  fs.mkdirSync(o.out, {recursive: true});
  fs.writeFileSync(path.join(o.out, 'evaluation.json'), JSON.stringify(result, null, 1) + '\n');
  const md = markdown(result);
  fs.writeFileSync(path.join(o.out, 'evaluation.md'), md);
  console.log(reportLines(report).join('\n'));
  console.log(md);
  console.log(`Wrote ${o.out}/evaluation.json and evaluation.md (${seconds.toFixed(0)} s).`);
}

type Result = {
  command: string, test: {examples: number, exactMatch: number, modelExactMatch: number,
                          falseAlarms: number, wrongFlagged: number, wrong: number, report: FormatReport},
  outOfScope: {examples: number, flagged: number, flaggedWithLowConfidence: number,
               kinds: Array<{kind: string, examples: number, flagged: number,
                             flaggedBy: Record<string, number>, missed: string[]}>},
};

/** The evaluation as markdown tables (what the README quotes). */
export function markdown(r: Result): string {
  const t = r.test;
  const lines = [
    `\`${r.command}\``, '',
    '| held-out test days, every format, canonical and one variant | |', '| --- | --- |',
    `| examples | ${t.examples} |`,
    `| **exact match (right and not flagged)** | **${percent(t.exactMatch)}** |`,
    `| the model's answer right (flagged or not) | ${percent(t.modelExactMatch)} |`,
    `| **right answers flagged anyway (false alarms)** | **${percent(t.falseAlarms)}** |`,
    `| wrong answers flagged | ${percent(t.wrongFlagged)} (${t.wrong} wrong) |`,
    `| worst format | ${worst(t.report.formats)} |`,
    `| worst variant family | ${worst(t.report.families)} |`,
    '',
    '| out of scope | inputs | flagged | caught by |', '| --- | --- | --- | --- |',
    ...r.outOfScope.kinds.map(k => `| ${k.kind} | ${k.examples} | ${percent(k.flagged)} | ${
        Object.entries(k.flaggedBy).filter(([w]) => w !== 'not flagged')
            .map(([w, c]) => `${w} ${c}`).join(', ')} |`),
    `| **all** | ${r.outOfScope.examples} | **${percent(r.outOfScope.flagged)}** | |`,
    '',
    '| format | exact match | examples |', '| --- | --- | --- |',
    ...t.report.formats.map(f => `| \`${f.example}\` | ${percent(f.accuracy)} | ${f.examples} |`),
    '',
    '| variant family | exact match | examples |', '| --- | --- | --- |',
    ...t.report.families.map(f => `| ${f.name} | ${percent(f.accuracy)} | ${f.examples} |`),
  ];
  return lines.join('\n') + '\n';
}

function worst(rows: Array<{name: string, accuracy: number}>): string {
  const w = rows.reduce((m, x) => x.accuracy < m.accuracy ? x : m);
  return `${percent(w.accuracy)} (${w.name})`;
}

if (require.main === module) {
  runCommand(EVALUATE_COMMAND, ({options}) => main(options));
}
