/**
 * Measured, not written by hand: `npm run bench -- --dispatch-table` (bench/dispatch_table.ts)
 * wrote this file. Per Node backend, forward + backward (and the forward alone) of
 * `attention()` with `needWeights: false` on 32 batch×head slices, timeQ = timeK = time and dk = dv = dim,
 * median ms of interleaved runs of the standard and the fast path after a warm-up (at least
 * 5, up to 40 where a run is quick; the warm-up alone where it took over 3 s).
 * Machine: AMD EPYC, 2 cores, Node v20.20.2, tfjs 4.22.0; load average at the end 1.17 / 1.33 / 1.83.
 * 'auto' takes the path that was faster in the nearest cell (choosePath, ./dispatch.ts): by the
 * forward + backward times while gradients are recorded, by the forward times otherwise.
 */

import type {DispatchCell} from './dispatch';

/** The measured cells, per backend name. A backend not listed keeps the standard path. */
export const DISPATCH_TABLE: Readonly<Record<string, readonly DispatchCell[]>> = {
  "wasm": [
    {"time":16,"dim":8,"standardMs":1.1,"fastMs":1.18,"standardForwardMs":0.32,"fastForwardMs":0.3},
    {"time":16,"dim":16,"standardMs":1.71,"fastMs":1.38,"standardForwardMs":0.58,"fastForwardMs":0.42},
    {"time":16,"dim":32,"standardMs":3.19,"fastMs":2.02,"standardForwardMs":0.69,"fastForwardMs":0.42},
    {"time":16,"dim":64,"standardMs":3.82,"fastMs":1.82,"standardForwardMs":1.17,"fastForwardMs":0.51},
    {"time":32,"dim":8,"standardMs":2.14,"fastMs":1.04,"standardForwardMs":0.79,"fastForwardMs":0.35},
    {"time":32,"dim":16,"standardMs":3.78,"fastMs":1.42,"standardForwardMs":1.17,"fastForwardMs":0.39},
    {"time":32,"dim":32,"standardMs":6.53,"fastMs":2.17,"standardForwardMs":2.91,"fastForwardMs":0.98},
    {"time":32,"dim":64,"standardMs":12.76,"fastMs":4.5,"standardForwardMs":4,"fastForwardMs":1},
    {"time":64,"dim":8,"standardMs":8.83,"fastMs":2.82,"standardForwardMs":2.56,"fastForwardMs":0.58},
    {"time":64,"dim":16,"standardMs":13.52,"fastMs":3.75,"standardForwardMs":4.52,"fastForwardMs":0.96},
    {"time":64,"dim":32,"standardMs":27.18,"fastMs":7.06,"standardForwardMs":11.45,"fastForwardMs":2.57},
    {"time":64,"dim":64,"standardMs":62.55,"fastMs":16.45,"standardForwardMs":17.57,"fastForwardMs":3.65},
    {"time":128,"dim":8,"standardMs":30.63,"fastMs":7.37,"standardForwardMs":10.28,"fastForwardMs":2.24},
    {"time":128,"dim":16,"standardMs":54.57,"fastMs":13.03,"standardForwardMs":17.98,"fastForwardMs":3.04},
    {"time":128,"dim":32,"standardMs":94.47,"fastMs":21.68,"standardForwardMs":33.22,"fastForwardMs":5.18},
    {"time":128,"dim":64,"standardMs":197.63,"fastMs":47.07,"standardForwardMs":70.7,"fastForwardMs":9.32},
    {"time":256,"dim":8,"standardMs":154.26,"fastMs":36.08,"standardForwardMs":50.13,"fastForwardMs":7.49},
    {"time":256,"dim":16,"standardMs":252.16,"fastMs":56.69,"standardForwardMs":78.57,"fastForwardMs":10.31},
    {"time":256,"dim":32,"standardMs":412.82,"fastMs":82.03,"standardForwardMs":131.08,"fastForwardMs":15.74},
    {"time":256,"dim":64,"standardMs":793.38,"fastMs":101.05,"standardForwardMs":251.85,"fastForwardMs":30.31},
    {"time":512,"dim":8,"standardMs":624.01,"fastMs":123.56,"standardForwardMs":190.39,"fastForwardMs":30.87},
    {"time":512,"dim":16,"standardMs":1118.28,"fastMs":151.34,"standardForwardMs":342.32,"fastForwardMs":44.5},
    {"time":512,"dim":32,"standardMs":2094.23,"fastMs":218.73,"standardForwardMs":565.95,"fastForwardMs":57.08},
    {"time":512,"dim":64,"standardMs":4296.95,"fastMs":383.3,"standardForwardMs":1027.23,"fastForwardMs":111.19},
  ],
};
