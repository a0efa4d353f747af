/**
 * Measured, not written by hand: `npm run bench -- --dispatch-table` (bench/dispatch_table.ts)
 * wrote this file. Per Node backend, forward + backward of `attention()` with
 * `needWeights: false` on 32 batch×head slices, timeQ = timeK = time and dk = dv = dim,
 * median ms of interleaved runs of the standard and the fast path after a warm-up (at least
 * 5, up to 40 where a run is quick; the warm-up alone where it took over 3 s).
 * Machine: AMD EPYC, 2 cores, Node v20.20.2, tfjs 4.22.0; load average at the end 13.30 / 13.17 / 13.05.
 * 'auto' takes the path that was faster in the nearest cell (choosePath, ./dispatch.ts).
 */

import type {DispatchCell} from './dispatch';

/** The measured cells, per backend name. A backend not listed keeps the standard path. */
export const DISPATCH_TABLE: Readonly<Record<string, readonly DispatchCell[]>> = {
  "wasm": [
    {"time":16,"dim":8,"standardMs":15.19,"fastMs":43.99},
    {"time":16,"dim":16,"standardMs":22.24,"fastMs":37.47},
    {"time":16,"dim":32,"standardMs":19.38,"fastMs":33.74},
    {"time":16,"dim":64,"standardMs":82.86,"fastMs":53.6},
    {"time":32,"dim":8,"standardMs":37.09,"fastMs":2.38},
    {"time":32,"dim":16,"standardMs":28.02,"fastMs":20.18},
    {"time":32,"dim":32,"standardMs":99.02,"fastMs":45.35},
    {"time":32,"dim":64,"standardMs":156.99,"fastMs":55.54},
    {"time":64,"dim":8,"standardMs":72.3,"fastMs":20.6},
    {"time":64,"dim":16,"standardMs":123.68,"fastMs":41.37},
    {"time":64,"dim":32,"standardMs":330.39,"fastMs":68.4},
    {"time":64,"dim":64,"standardMs":396.27,"fastMs":68.96},
    {"time":128,"dim":8,"standardMs":306.62,"fastMs":38.82},
    {"time":128,"dim":16,"standardMs":643.01,"fastMs":147.35},
    {"time":128,"dim":32,"standardMs":1019.74,"fastMs":178.52},
    {"time":128,"dim":64,"standardMs":1007.42,"fastMs":246.96},
    {"time":256,"dim":8,"standardMs":1285.46,"fastMs":281.47},
    {"time":256,"dim":16,"standardMs":2353.08,"fastMs":412.28},
    {"time":256,"dim":32,"standardMs":3771.92,"fastMs":789.74},
    {"time":256,"dim":64,"standardMs":8270.18,"fastMs":1527.84},
    {"time":512,"dim":8,"standardMs":7766.46,"fastMs":948.22},
    {"time":512,"dim":16,"standardMs":3605.17,"fastMs":402.43},
    {"time":512,"dim":32,"standardMs":5468.68,"fastMs":724.25},
    {"time":512,"dim":64,"standardMs":16957.09,"fastMs":1292.25},
  ],
};
