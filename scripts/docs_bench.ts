/**
 * `npm run docs:bench`: fills the benchmark tables of docs/benchmarks.md from bench/results/.
 *
 * The page is prose written by hand with generated blocks between markers:
 *
 *     <!-- bench-table bench/results/target -->
 *     …generated: a link to the results file, the machine, the table…
 *     <!-- /bench-table -->
 *
 * Each block is rendered from that folder's results.json by the benchmark's own markdown
 * writer (bench/report.ts; bench/decode_report.ts, bench/programs_report.ts,
 * bench/threads_report.ts, bench/targets_report.ts and bench/example_decoders.ts for files of
 * `kind` 'decode', 'programs', 'threads', 'targets' and 'examples'), so the page shows exactly what `npm run bench` (or
 * `npm run bench:decode`, `bench:programs`, `bench:threads`) measured and wrote
 * there; nothing is copied by hand. test/docs/benchmarks.test.ts checks that the committed page
 * is what this script writes now.
 */
import * as fs from 'fs';
import * as path from 'path';

import {decodeMarkdown} from '../bench/decode_report';
import {examplesMarkdown} from '../bench/example_decoders';
import {programsMarkdown} from '../bench/programs_report';
import {markdown} from '../bench/report';
import {targetsMarkdown} from '../bench/targets_report';
import {threadsMarkdown} from '../bench/threads_report';

const root = path.resolve(__dirname, '..');
export const BENCHMARKS_PAGE = path.join(root, 'docs', 'benchmarks.md');

const BLOCK = /(<!-- bench-table ([^ ]+) -->\n)[\s\S]*?(<!-- \/bench-table -->)/g;

/** The generated text of one block: a link to its results file, then the benchmark's markdown. */
export function renderBlock(resultsDir: string): string {
  const file = path.join(root, resultsDir, 'results.json');
  if (!fs.existsSync(file)) {
    throw new Error(
        `docs/benchmarks.md names ${resultsDir}, but ${resultsDir}/results.json does not exist`);
  }
  const results = JSON.parse(fs.readFileSync(file, 'utf8'));
  const link = path.posix.relative('docs', `${resultsDir}/results.json`);
  return `From [${resultsDir}/results.json](${link}) (also as [results.md](${
      path.posix.relative('docs', `${resultsDir}/results.md`)})):\n\n` +
      (results.kind === 'decode' ? decodeMarkdown(results) :
       results.kind === 'programs' ? programsMarkdown(results) :
       results.kind === 'threads' ? threadsMarkdown(results) :
       results.kind === 'targets' ? targetsMarkdown(results) :
       results.kind === 'examples' ? examplesMarkdown(results) :
       markdown(results.rows, results.memory, results.machine, results.options));
}

/** The page with every block regenerated; the text outside the markers is kept as it is. */
export function renderBenchmarksPage(page: string): string {
  let blocks = 0;
  const out = page.replace(BLOCK, (_all, start: string, dir: string, end: string) => {
    blocks++;
    return `${start}${renderBlock(dir)}${end}`;
  });
  if (blocks === 0) throw new Error('docs/benchmarks.md has no <!-- bench-table DIR --> block');
  return out;
}

if (require.main === module) {
  const page = fs.readFileSync(BENCHMARKS_PAGE, 'utf8');
  const out = renderBenchmarksPage(page);
  fs.writeFileSync(BENCHMARKS_PAGE, out);
  console.log(`docs/benchmarks.md: ${out === page ? 'already up to date' : 'tables regenerated'}`);
}
