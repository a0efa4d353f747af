/**
 * docs/benchmarks.md shows what bench/results/ holds: its tables are what `npm run docs:bench`
 * writes now, so a new benchmark run without regenerating the page (or a hand edit of a table)
 * fails here.
 */
import * as fs from 'fs';
import * as path from 'path';

import {BENCHMARKS_PAGE, renderBenchmarksPage} from '../../scripts/docs_bench';

it('docs/benchmarks.md is what `npm run docs:bench` writes from bench/results/', () => {
  const page = fs.readFileSync(BENCHMARKS_PAGE, 'utf8');
  const expected = renderBenchmarksPage(page);
  // Compare line by line first, so that a failure names the first line that differs.
  const got = page.split('\n');
  const want = expected.split('\n');
  const first = want.findIndex((line, i) => got[i] !== line);
  expect({firstDifferentLine: first < 0 && got.length === want.length ? null : first + 1}).toEqual({
    firstDifferentLine: null
  });
  expect(page).toBe(expected);
});

it('every results folder under bench/results/ has a table on the page', () => {
  const page = fs.readFileSync(BENCHMARKS_PAGE, 'utf8');
  const shown = new Set([...page.matchAll(/<!-- bench-table ([^ ]+) -->/g)].map(m => m[1]));
  const repo = path.resolve(__dirname, '..', '..');
  const root = 'bench/results';
  const folders = [
    root,
    ...fs.readdirSync(path.join(repo, root), {withFileTypes: true})
        .filter(d => d.isDirectory())
        .map(d => `${root}/${d.name}`)
  ].filter(dir => fs.existsSync(path.join(repo, dir, 'results.json')));
  expect(folders.filter(dir => !shown.has(dir))).toEqual([]);
});

it('a block naming a folder without results is an error that names it', () => {
  expect(
      () =>
          renderBenchmarksPage('<!-- bench-table bench/results/nowhere -->\n<!-- /bench-table -->'))
      .toThrow(/bench\/results\/nowhere\/results.json does not exist/);
  expect(() => renderBenchmarksPage('no blocks here')).toThrow(/no <!-- bench-table DIR --> block/);
});
