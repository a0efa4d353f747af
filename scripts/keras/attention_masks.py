"""Keras 3's own position masks, for test/attention/masks.test.ts.

Writes test/fixtures/keras-masks/attention_masks.json: for each (timeQ, timeK, causal,
sliding_window) case, the boolean [timeQ, timeK] mask that keras.layers.MultiHeadAttention
builds in `_compute_attention_mask` (causal: `use_causal_mask=True`; window: the layer's
`sliding_window`), one string per query row, "1" = may attend. Run by hand (never by `npm test`):

    KERAS_BACKEND=numpy python3 scripts/keras/attention_masks.py
"""
import json
import os

os.environ.setdefault("KERAS_BACKEND", "numpy")

import keras  # noqa: E402
import numpy as np  # noqa: E402

CASES = [
    # (timeQ, timeK, causal, sliding_window)
    (6, 6, True, None),
    (4, 7, True, None),
    (7, 4, True, None),
    (7, 7, False, 1),
    (7, 7, False, 3),
    (5, 9, False, 2),
    (9, 4, False, 2),
    (8, 8, True, 3),
    (6, 10, True, 4),
    (10, 5, True, 2),
    (5, 5, False, 20),
]


def keras_mask(time_q, time_k, causal, window):
    layer = keras.layers.MultiHeadAttention(num_heads=1, key_dim=2, sliding_window=window)
    query = np.zeros((1, time_q, 2), dtype="float32")
    value = np.zeros((1, time_k, 2), dtype="float32")
    mask = layer._compute_attention_mask(query, value, use_causal_mask=causal)
    return np.asarray(mask).reshape(time_q, time_k).astype(bool)


def main():
    out = {
        "keras": keras.__version__,
        "cases": [
            {"timeQ": tq, "timeK": tk, "causal": c, "slidingWindow": w,
             "rows": ["".join("1" if a else "0" for a in row)
                      for row in keras_mask(tq, tk, c, w)]}
            for tq, tk, c, w in CASES
        ],
    }
    here = os.path.dirname(os.path.abspath(__file__))
    target = os.path.join(here, "..", "..", "test", "fixtures", "keras-masks",
                          "attention_masks.json")
    with open(target, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {len(CASES)} masks from Keras {keras.__version__} to {os.path.normpath(target)}")


if __name__ == "__main__":
    main()
