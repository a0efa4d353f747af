/**
 * The results of `npm run bench:programs` (bench/programs.ts) and their markdown table, which
 * bench/results/fused/results.md holds and `npm run docs:bench` puts in docs/benchmarks.md.
 */
import type {ProgramCount} from '../test/helpers/browser/pages/fused_page';

export interface ProgramsRow {
  /** 'webgl' or 'webgpu' (in headless Chromium). */
  backend: string;
  path: string;
  forward: ProgramCount;
  /** Forward + backward: the gradients of q, k and v. */
  both: ProgramCount;
  forwardMs: number;
  bothMs: number;
}

export interface ProgramsResults {
  kind: 'programs';
  machine: {cpu: string, cores: number, memoryGiB: number, platform: string, node: string,
            tfjs: string, browser: string, devices: Record<string, string|null>,
            loadAverageAtStart: number[], loadAverageAtEnd: number[]};
  options: {batch: number, heads: number, n: number, dh: number, runs: number, backends: string[]};
  rows: ProgramsRow[];
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const moved = (c: ProgramCount) => c.bytesIn + c.bytesOut;

/** The table: one row per backend and path, then the fused path against the standard one. */
export function programsMarkdown(r: ProgramsResults): string {
  const m = r.machine;
  const o = r.options;
  const lines = [
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform}, Node ${m.node}, tfjs ${
        m.tfjs}; load average at start ${m.loadAverageAtStart.join(' / ')}, at end ${
        m.loadAverageAtEnd.join(' / ')}. Headless ${m.browser}${
        Object.entries(m.devices).map(([b, d]) => `; ${b} on ${d ?? 'an unnamed device'}`).join('')}.`,
    `Attention alone (needWeights: false) on inputs [${o.batch}, ${o.heads}, ${o.n}, ${o.dh}] ` +
        '([batch, heads, n, dh]); fwd+bwd = the gradients of q, k and v. Programs and bytes are ' +
        'counted at the backend\'s program entry point (each program\'s input and output sizes, ' +
        `4 bytes a value); times are the median of ${o.runs} runs after a warm-up, paths ` +
        'interleaved, each ending when the results are read back.',
    '',
    '| backend | path | programs fwd | programs fwd+bwd | MiB in / out fwd | MiB in / out fwd+bwd | ms fwd | ms fwd+bwd |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const row of r.rows) {
    lines.push(`| ${row.backend} | ${row.path} | ${row.forward.programs} | ${row.both.programs} | ${
        mib(row.forward.bytesIn)} / ${mib(row.forward.bytesOut)} | ${mib(row.both.bytesIn)} / ${
        mib(row.both.bytesOut)} | ${row.forwardMs.toFixed(0)} | ${row.bothMs.toFixed(0)} |`);
  }
  lines.push('', 'Fused against standard (bytes: fused ÷ standard; speed-up: standard ms ÷ fused ms):', '',
             '| backend | bytes fwd | bytes fwd+bwd | speed-up fwd | speed-up fwd+bwd |',
             '| --- | --- | --- | --- | --- |');
  for (const backend of o.backends) {
    const fused = r.rows.find(x => x.backend === backend && x.path === 'fused');
    const standard = r.rows.find(x => x.backend === backend && x.path === 'standard');
    if (fused == null || standard == null) continue;
    lines.push(`| ${backend} | ${(moved(fused.forward) / moved(standard.forward)).toFixed(2)} | ${
        (moved(fused.both) / moved(standard.both)).toFixed(2)} | ${
        (standard.forwardMs / fused.forwardMs).toFixed(1)}× | ${(standard.bothMs / fused.bothMs).toFixed(1)}× |`);
  }
  return lines.join('\n') + '\n';
}
