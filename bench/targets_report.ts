/**
 * Issue 16's targets, read from the results the benchmarks wrote (bench/targets.ts runs them):
 * each target, what it asks, what was measured, and whether it holds. `npm run docs:bench`
 * renders a `kind: 'targets'` results.json with `targetsMarkdown`.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import type {DecodeResults} from './decode_report';
import type {ProgramsResults} from './programs_report';
import {Machine, machineLine, Row} from './report';
import type {ThreadsResults} from './threads_report';

/** One target: `met` is null when it was not measured (then `measured` says why). */
export interface TargetRow {
  part: string;
  target: string;
  wanted: string;
  measured: string;
  met: boolean|null;
}

export interface TargetsResults {
  kind: 'targets';
  machine: Machine&{loadAverageAtEnd: number[]};
  /** The results folder each part was read from, or why that part did not run. */
  sources: Record<string, {dir: string, loadAverage: string}|{notRun: string}>;
  rows: TargetRow[];
}

/** What the parts wrote, each null when it did not run. */
export interface PartResults {
  dispatch: {rows: Row[], machine: Machine&{loadAverageAtEnd?: number[]}}|null;
  threads: ThreadsResults|null;
  decode: DecodeResults|null;
  programs: ProgramsResults|null;
}

const times = (x: number) => `${x.toFixed(2)}×`;
const heads = (count: number, model: number) => `${count} head${count === 1 ? '' : 's'} of ${model / count}`;
const notMeasured = (part: string, target: string, wanted: string, why: string): TargetRow =>
  ({part, target, wanted, measured: `not measured (${why})`, met: null});

/** The targets, from whatever parts ran (`why` says why a part is missing). */
export function computeTargets(r: PartResults, why: Record<string, string>): TargetRow[] {
  return [...dispatchTargets(r.dispatch, why['dispatch'] ?? 'not run'),
          ...decodeTargets(r.decode, why['decode'] ?? 'not run'),
          ...threadsTargets(r.threads, why['threads'] ?? 'not run'),
          ...programsTargets(r.programs, why['programs'] ?? 'not run')];
}

function dispatchTargets(d: PartResults['dispatch'], why: string): TargetRow[] {
  const part = '1. measured dispatcher (wasm, batch 8, vs naive)';
  const ratio = (row: Row, key: 'forwardMs'|'bothMs') =>
    row.a[key] != null && row.b[key] != null ? row.b[key]! / row.a[key]! : null;
  const find = (time: number, count: number, model: number) =>
    d?.rows.find(row => row.backend === 'wasm' && row.time === time && row.heads === count && row.model === model);
  const at = (time: number, count: number, model: number, wanted: number): TargetRow => {
    const target = `fwd+bwd, n = ${time}, ${heads(count, model)}`;
    const row = find(time, count, model);
    const x = row == null ? null : ratio(row, 'bothMs');
    return x == null ? notMeasured(part, target, `≥ ${wanted}×`, d == null ? why : 'no such row') :
                       {part, target, wanted: `≥ ${wanted}×`, measured: times(x), met: x >= wanted};
  };
  const slowest = (key: 'forwardMs'|'bothMs'): TargetRow => {
    const target = `no case slower than naive (${key === 'bothMs' ? 'fwd+bwd' : 'forward'})`;
    const rated = (d?.rows ?? []).map(row => ({row, x: ratio(row, key)})).filter(r => r.x != null);
    if (rated.length === 0) {
      return notMeasured(part, target, 'every case ≥ 1.00×', d == null ? why : 'no rows');
    }
    const worst = rated.reduce((p, q) => (q.x! < p.x! ? q : p));
    const c = worst.row;
    return {part, target, wanted: 'every case ≥ 1.00×',
            measured: `slowest ${times(worst.x!)} (n = ${c.time}, ${heads(c.heads, c.model)}; ${rated.length} cases)`,
            met: worst.x! >= 1};
  };
  return [at(256, 8, 64, 3), at(64, 4, 64, 2), slowest('bothMs'), slowest('forwardMs')];
}

function decodeTargets(d: DecodeResults|null, why: string): TargetRow[] {
  const part = '2. cached decoding (256 tokens, 2 blocks of width 128)';
  const wanted = '≥ 10× the re-run per token';
  if (d == null) {
    return [notMeasured(part, 'speed-up of generate over re-running the model', wanted, why)];
  }
  return d.results.map(b => ({
    part, target: `${b.backend}: speed-up, tokens/s`, wanted,
    measured: `${b.speedup.toFixed(1)}× (${b.variants[0]!.tokensPerSecond.toFixed(1)} vs ${
        b.variants[2]!.tokensPerSecond.toFixed(1)} tokens/s)${b.sameTokens ? '' : ', tokens DIFFER'}`,
    met: b.speedup >= 10 && b.sameTokens && b.tensorsLeft === 0,
  }));
}

function threadsTargets(t: ThreadsResults|null, why: string): TargetRow[] {
  const part = '3. both cores in Node (wasm, 2 threads vs 1)';
  const matMul = t?.items.find(i => i.name.startsWith('2-D matMul [2048'));
  const layer = t?.items.find(i => i.name === 'layer fwd+bwd, 8 heads of 64, n 256');
  if (t == null || matMul == null || layer == null) {
    return [notMeasured(part, '2-D matMul and layer speed-ups', 'layer ≥ matMul', t == null ? why : 'items missing')];
  }
  const share = (layer.speedup[1]! - 1) / (matMul.speedup[1]! - 1);
  return [
    {part, target: `${matMul.name}, speed-up`, wanted: '> 1× (×1.6–2.1 measured before)',
     measured: times(matMul.speedup[1]!), met: matMul.speedup[1]! > 1},
    {part, target: `${layer.name}, speed-up (the layer's share of the matMul's gain)`,
     wanted: 'as large as the matMul\'s (share ≥ 1)',
     measured: `${times(layer.speedup[1]!)} (share ${Number.isFinite(share) ? share.toFixed(2) : '–'})`,
     met: layer.speedup[1]! >= matMul.speedup[1]! && layer.speedup[1]! > 1},
    {part, target: 'results bitwise equal to 1 thread (every item)', wanted: 'yes',
     measured: t.items.every(i => i.bitwiseEqual) ? 'yes' : 'NO', met: t.items.every(i => i.bitwiseEqual)},
  ];
}

function programsTargets(p: ProgramsResults|null, why: string): TargetRow[] {
  const part = '4. fused programs (attention alone, [8, 8, 256, 64])';
  if (p == null) {
    return [notMeasured(part, 'programs, bytes and time on webgl and webgpu', '≤ 4 / ≤ 12 programs, ≤ ½ bytes, faster', why)];
  }
  const moved = (c: {bytesIn: number, bytesOut: number}) => c.bytesIn + c.bytesOut;
  return p.options.backends.flatMap(backend => {
    const s = p.rows.find(r => r.backend === backend && r.path === 'standard');
    const f = p.rows.find(r => r.backend === backend && r.path === 'fused');
    if (s == null || f == null) {
      return [notMeasured(part, backend, '', 'rows missing')];
    }
    const bytes = [moved(f.forward) / moved(s.forward), moved(f.both) / moved(s.both)];
    const speed = [s.forwardMs / f.forwardMs, s.bothMs / f.bothMs];
    return [
      {part, target: `${backend}: programs forward / fwd+bwd`, wanted: '≤ 4 / ≤ 12',
       measured: `${f.forward.programs} / ${f.both.programs} (standard ${s.forward.programs} / ${s.both.programs})`,
       met: f.forward.programs <= 4 && f.both.programs <= 12},
      {part, target: `${backend}: bytes moved, fused ÷ standard, forward / fwd+bwd`, wanted: '≤ 0.5',
       measured: bytes.map(b => b.toFixed(2)).join(' / '), met: bytes.every(b => b <= 0.5)},
      {part, target: `${backend}: speed-up on SwiftShader, forward / fwd+bwd`, wanted: '> 1×',
       measured: speed.map(times).join(' / '), met: speed.every(x => x > 1)},
    ];
  });
}

/** The results as a markdown paragraph and table. */
export function targetsMarkdown(r: TargetsResults): string {
  const m = r.machine;
  const sources = Object.entries(r.sources).map(([part, s]) =>
    ('dir' in s ? `${part} from ${s.dir} (load average ${s.loadAverage})` : `${part} not run: ${s.notRun}`));
  const lines = [
    machineLine(m),
    `\`npm run bench\`, one run: ${sources.join('; ')}.`,
    '',
    '| part | target | wanted | measured | met |',
    '| --- | --- | --- | --- | --- |',
    ...r.rows.map(t => `| ${t.part} | ${t.target} | ${t.wanted} | ${t.measured} | ${
        t.met == null ? '–' : t.met ? 'yes' : 'no'} |`),
  ];
  return lines.join('\n') + '\n';
}

/** Writes results.json and results.md under `out`; returns the markdown. */
export function writeTargetsResults(out: string, results: Omit<TargetsResults, 'machine'|'kind'>&{machine: Machine}): string {
  const loadAverageAtEnd = os.loadavg().map(l => Number(l.toFixed(2)));
  const all: TargetsResults = {kind: 'targets', ...results, machine: {...results.machine, loadAverageAtEnd}};
  fs.mkdirSync(out, {recursive: true});
  fs.writeFileSync(path.join(out, 'results.json'), JSON.stringify(all, null, 2) + '\n');
  const md = targetsMarkdown(all);
  fs.writeFileSync(path.join(out, 'results.md'), md);
  return md;
}
