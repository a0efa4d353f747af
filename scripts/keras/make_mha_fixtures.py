"""Keras's own numbers for the MultiHeadAttention layer: test/fixtures/keras/mha/keras3.json
(Keras 3) and keras2.json (Keras 2, tf.keras).

Builds a Keras `MultiHeadAttention` layer (named "mha") for each case of the table below, sets
random weights, calls it on fixed inputs and records what the tests need:

- `args`: the constructor arguments used (Keras's snake_case names);
- `config` / `build_config`: what Keras's `get_config()` and `get_build_config()` return;
- `call`: the call's constants (`use_causal_mask`, `return_attention_scores`), which of `key` and
  `attention_mask` were passed, and which inputs carried a propagated (Keras) mask;
- `inputs`: query, value (key, attention_mask) and the propagated masks, each {shape, values};
- `weights`: every variable by its Keras path ("mha/query/kernel", ...), in Keras's order;
- `keras_path`: which attention computation ran. Keras 3 has two: "dot_product_attention"
  (dropout 0 and no scores returned: a fully masked row gives the plain average of the values)
  and "einsum" (a fully masked row gives zeros). Keras 2 has one, "keras2": scores + (-1e9) where
  masked, no zeroing after the softmax (a fully masked row averages the values);
- `outputs`: the attention output (and scores), and the output's propagated mask.

Propagated masks are made as Keras makes them: the masked time steps of the float inputs are
exactly zero and a `Masking()` layer computes the mask, so the layer receives them through
Keras's own mask propagation. Every call runs in inference mode. Keras 2 has no `use_gate` and no
`sliding_window`: its table leaves those cases out.

Run by hand, from the repository root:

    python3 scripts/keras/make_mha_fixtures.py            # Keras 3; KERAS_BACKEND defaults to tensorflow
    python3 scripts/keras/make_mha_fixtures.py --keras 2  # Keras 2: needs tf_keras (pip install tf-keras)
    KERAS_BACKEND=jax python3 scripts/keras/make_mha_fixtures.py --check
        # --check: recompute every case and compare with the committed file instead of writing
"""
import argparse
import json
import os
import re
import sys

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

OUT_DIR = os.path.join("test", "fixtures", "keras", "mha")

# Set by load_keras(): the Keras module, how it reads a tensor's mask and names a variable.
keras = None
get_mask = None
variable_path = None


def load_keras(version):
    global keras, get_mask, variable_path
    if version == 3:
        import keras as k3
        from keras.src import backend
        keras, get_mask, variable_path = k3, backend.get_keras_mask, lambda v: v.path
    else:
        import tf_keras
        keras = tf_keras
        get_mask = lambda t: getattr(t, "_keras_mask", None)  # noqa: E731
        variable_path = lambda v: v.name.split(":")[0]  # noqa: E731


B = 2  # batch of every case


def mask_rows(lengths, time):
    """[batch, time] booleans: the first lengths[b] steps of sequence b are real."""
    return np.array([[t < n for t in range(time)] for n in lengths], dtype=bool)


# Each case: Keras constructor args, input sizes, and what the call passes.
#   q: (timeQ, dim); v: (timeK, dim) or None for self-attention (value = query);
#   k: (timeK, dim) or None (key = value, not passed);
#   masks: propagated masks {"query"|"value"|"key": lengths per batch element};
#   attention_mask: "random" (about a third masked, one fully masked row), "row" (one fully
#   masked query row only), or a shape keyword: "per_head" [B, heads, T, S], "2d" [T, S].
CASES = [
    dict(name="self attention, 2 heads", args=dict(num_heads=2, key_dim=3), q=(5, 6)),
    dict(name="cross attention, key differs from value",
         args=dict(num_heads=3, key_dim=4, value_dim=2), q=(5, 6), v=(4, 7), k=(4, 5)),
    dict(name="value_dim differs from key_dim", args=dict(num_heads=2, key_dim=3, value_dim=5),
         q=(4, 6)),
    dict(name="output_shape as a number", args=dict(num_heads=2, key_dim=2, output_shape=7),
         q=(4, 6), v=(3, 5)),
    dict(name="output_shape as a tuple", args=dict(num_heads=2, key_dim=2, output_shape=(2, 3)),
         q=(4, 6), v=(3, 5)),
    dict(name="use_bias false", args=dict(num_heads=2, key_dim=3, use_bias=False), q=(5, 6)),
    dict(name="use_gate", args=dict(num_heads=2, key_dim=3, value_dim=4, use_gate=True),
         q=(5, 6), v=(4, 5)),
    dict(name="use_gate without bias",
         args=dict(num_heads=2, key_dim=3, use_gate=True, use_bias=False), q=(4, 6)),
    dict(name="sliding_window", args=dict(num_heads=2, key_dim=3, sliding_window=2), q=(6, 6)),
    dict(name="sliding_window with causal mask",
         args=dict(num_heads=2, key_dim=3, sliding_window=3), q=(6, 6), causal=True),
    dict(name="sliding_window, cross with timeQ > timeK: fully masked rows (average)",
         args=dict(num_heads=2, key_dim=3, sliding_window=2), q=(6, 6), v=(3, 6)),
    dict(name="use_causal_mask only (Keras's native causal kernel)",
         args=dict(num_heads=2, key_dim=3), q=(5, 6), causal=True),
    dict(name="use_causal_mask, cross with timeQ < timeK",
         args=dict(num_heads=2, key_dim=3), q=(3, 6), v=(5, 4), causal=True),
    dict(name="use_causal_mask with return_attention_scores",
         args=dict(num_heads=2, key_dim=3), q=(5, 6), causal=True, scores=True),
    dict(name="attention_mask with a fully masked row (average)",
         args=dict(num_heads=2, key_dim=3), q=(5, 6), v=(4, 6), attention_mask="random"),
    dict(name="attention_mask, dropout 0.1 in inference (einsum path: zeros)",
         args=dict(num_heads=2, key_dim=3, dropout=0.1), q=(5, 6), v=(4, 6),
         attention_mask="random"),
    dict(name="attention_mask with return_attention_scores (zeros)",
         args=dict(num_heads=2, key_dim=3), q=(5, 6), v=(4, 6), attention_mask="random",
         scores=True),
    dict(name="attention_mask per head [B, heads, T, S]",
         args=dict(num_heads=2, key_dim=3), q=(5, 6), v=(4, 6), attention_mask="per_head"),
    dict(name="attention_mask [T, S] broadcast over the batch",
         args=dict(num_heads=2, key_dim=3), q=(5, 6), v=(4, 6), attention_mask="2d"),
    dict(name="attention_mask with use_causal_mask",
         args=dict(num_heads=2, key_dim=3), q=(5, 6), attention_mask="random", causal=True),
    dict(name="propagated masks, self attention: padded queries average",
         args=dict(num_heads=2, key_dim=3), q=(5, 6), masks=dict(query=[3, 5], value=[3, 5])),
    dict(name="propagated masks, self attention with return_attention_scores",
         args=dict(num_heads=2, key_dim=3), q=(5, 6), masks=dict(query=[3, 5], value=[3, 5]),
         scores=True),
    dict(name="propagated masks, dropout 0.1 in inference (einsum path: zeros)",
         args=dict(num_heads=2, key_dim=3, dropout=0.1), q=(5, 6),
         masks=dict(query=[3, 5], value=[3, 5])),
    dict(name="propagated masks on query, value and key (cross)",
         args=dict(num_heads=2, key_dim=3, value_dim=2), q=(4, 6), v=(5, 4), k=(5, 3),
         masks=dict(query=[4, 2], value=[5, 3], key=[2, 5])),
    dict(name="propagated value mask only, one sequence with no key at all (average)",
         args=dict(num_heads=2, key_dim=3), q=(4, 6), v=(5, 6), masks=dict(value=[0, 3])),
    dict(name="propagated value mask only, no key at all, scores (zeros)",
         args=dict(num_heads=2, key_dim=3), q=(4, 6), v=(5, 6), masks=dict(value=[0, 3]),
         scores=True),
    dict(name="propagated masks with use_causal_mask and attention_mask",
         args=dict(num_heads=2, key_dim=3), q=(5, 6), masks=dict(query=[4, 5], value=[4, 5]),
         attention_mask="row", causal=True),
    dict(name="everything: gate, window, causal, masks, output_shape, scores",
         args=dict(num_heads=3, key_dim=2, value_dim=3, use_gate=True, sliding_window=2,
                   output_shape=(4,)),
         q=(5, 6), v=(5, 4), k=(5, 3), masks=dict(query=[5, 3], value=[4, 5], key=[5, 4]),
         attention_mask="random", causal=True, scores=True),
    dict(name="everything without scores (average)",
         args=dict(num_heads=3, key_dim=2, value_dim=3, use_gate=True, sliding_window=2,
                   output_shape=(4,)),
         q=(5, 6), v=(5, 4), k=(5, 3), masks=dict(query=[5, 3], value=[4, 5], key=[5, 4]),
         attention_mask="random", causal=True),
]


def tensor(x):
    x = np.asarray(x)
    values = x.astype(np.float32).ravel().tolist() if x.dtype != bool else \
        x.astype(np.int32).ravel().tolist()
    return {"shape": list(x.shape), "values": values}


def jsonable(x):
    """get_config()/get_build_config() values as JSON: tuples and Keras 2's TensorShapes as lists."""
    def default(o):
        if hasattr(o, "as_list"):  # tf.TensorShape
            return o.as_list()
        raise TypeError(f"not JSON: {o!r}")
    return json.loads(json.dumps(x, default=default))


def make_attention_mask(kind, rng, t, s, heads):
    if kind == "per_head":
        m = rng.random_sample((B, heads, t, s)) > 0.35
        m[0, 1, 2, :] = False  # one fully masked row in one head
        return m
    if kind == "2d":
        m = rng.random_sample((t, s)) > 0.35
        m[1, :] = False
        return m
    m = rng.random_sample((B, t, s)) > 0.35
    if kind == "row":
        m[:] = True
    m[0, 1, :] = False  # a fully masked query row
    return m


def run_case(case, seed, version):
    rng = np.random.RandomState(seed)
    keras.utils.set_random_seed(seed)
    tq, dq = case["q"]
    self_attention = case.get("v") is None
    tk, dv = case["q"] if self_attention else case["v"]
    masks = case.get("masks", {})

    def make_input(time, dim, lengths):
        x = rng.uniform(-1, 1, (B, time, dim)).astype(np.float32)
        if lengths is not None:
            x[~mask_rows(lengths, time)] = 0.0
        return x

    query = make_input(tq, dq, masks.get("query"))
    if self_attention:
        if masks.get("value") not in (None, masks.get("query")):
            raise ValueError(f"{case['name']}: self-attention has one mask")
        value = query
    else:
        value = make_input(tk, dv, masks.get("value"))
    key = None
    if case.get("k") is not None:
        key = make_input(case["k"][0], case["k"][1], masks.get("key"))

    layer = keras.layers.MultiHeadAttention(name="mha", **case["args"])
    heads = case["args"]["num_heads"]
    attention_mask = None
    if case.get("attention_mask") is not None:
        attention_mask = make_attention_mask(case["attention_mask"], rng, tq, tk, heads)

    # Masks travel as Keras's own: Masking() computes them from the zeroed steps.
    def masked(x, lengths):
        return keras.layers.Masking()(x) if lengths is not None else x

    constants = dict(use_causal_mask=case.get("causal", False),
                     return_attention_scores=case.get("scores", False), training=False)

    def call():
        # Fresh masked tensors for every call: Keras 3's layer clears its inputs' masks.
        q_in = masked(query, masks.get("query"))
        v_in = q_in if self_attention else masked(value, masks.get("value"))
        kwargs = dict(constants)
        if key is not None:
            kwargs["key"] = masked(key, masks.get("key"))
        if attention_mask is not None:
            kwargs["attention_mask"] = attention_mask
        return layer(q_in, v_in, **kwargs)

    call()  # builds
    weights = []
    for variable in layer.weights:
        values = rng.uniform(-0.5, 0.5, tuple(variable.shape)).astype(np.float32)
        variable.assign(values)
        weights.append({"path": variable_path(variable), **tensor(values)})

    result = call()
    output, scores = (result if case.get("scores") else (result, None))
    output_mask = get_mask(output)

    inputs = {"query": tensor(query), "value": tensor(value)}
    if key is not None:
        inputs["key"] = tensor(key)
    if attention_mask is not None:
        inputs["attention_mask"] = tensor(attention_mask)
    for name in ("query", "value", "key"):
        if masks.get(name) is not None:
            time = tq if name == "query" else (case["k"][0] if name == "key" else tk)
            inputs[f"{name}_mask"] = tensor(mask_rows(masks[name], time))
    dropout = case["args"].get("dropout", 0.0)
    outputs = {"output": tensor(np.asarray(output))}
    if scores is not None:
        outputs["scores"] = tensor(np.asarray(scores))
    outputs["output_mask"] = None if output_mask is None else tensor(np.asarray(output_mask))
    # Keras 3's path notes in a name ("(einsum path: zeros)", ...) do not apply to Keras 2.
    name = case["name"] if version == 3 else re.sub(r" \([^)]*\)", "", case["name"])
    return {
        "name": name,
        "args": jsonable(case["args"]),
        "config": jsonable(layer.get_config()),
        "build_config": jsonable(layer.get_build_config()) if version == 3 else None,
        "call": {
            "use_causal_mask": constants["use_causal_mask"],
            "return_attention_scores": constants["return_attention_scores"],
            "self_attention": self_attention,
            "key": key is not None,
            "attention_mask": attention_mask is not None,
            "propagated_masks": sorted(masks.keys()),
        },
        "keras_path": "keras2" if version == 2 else
                      "einsum" if dropout > 0 or case.get("scores") else "dot_product_attention",
        "inputs": inputs,
        "weights": weights,
        "outputs": outputs,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keras", type=int, choices=(2, 3), default=3,
                        help="Keras 3 (keras) or Keras 2 (tf_keras); default 3")
    parser.add_argument("--check", action="store_true",
                        help="compare with the committed file instead of writing it")
    options = parser.parse_args()
    load_keras(options.keras)
    out = os.path.join(OUT_DIR, f"keras{options.keras}.json")
    # Keras 2 has neither use_gate nor sliding_window.
    cases = [(i, c) for i, c in enumerate(CASES)
             if options.keras == 3 or not {"use_gate", "sliding_window"} & c["args"].keys()]
    backend_name = keras.backend.backend()
    fixtures = {
        "about": "Made by scripts/keras/make_mha_fixtures.py: Keras's MultiHeadAttention outputs "
                 "for fixed inputs and random weights (see the script's docstring).",
        "keras_version": keras.__version__,
        "backend": backend_name,
    }
    if options.check:
        with open(out) as f:
            committed = json.load(f)
        worst = 0.0
        failed = []
        for (i, case), old in zip(cases, committed["cases"]):
            try:
                new = run_case(case, 100 + i, options.keras)
            except Exception as e:  # a case this backend's Keras cannot run
                failed.append(f"{case['name']}: {str(e).splitlines()[0]}")
                continue
            for key, value in new["outputs"].items():
                if value is None or old["outputs"][key] is None:
                    if value != old["outputs"][key]:
                        failed.append(f"{case['name']}: {key} differs in presence")
                    continue
                a = np.array(value["values"], dtype=np.float64)
                b = np.array(old["outputs"][key]["values"], dtype=np.float64)
                worst = max(worst, float(np.max(np.abs(a - b))) if a.size else 0.0)
        print(f"{backend_name} against the committed {committed['backend']}: "
              f"max |diff| {worst:.2e} over {len(cases) - len(failed)} cases")
        for line in failed:
            print(f"  not compared: {line}")
        sys.exit(0 if worst < 1e-5 else 1)
    fixtures["cases"] = [run_case(case, 100 + i, options.keras) for i, case in cases]
    os.makedirs(OUT_DIR, exist_ok=True)
    with open(out, "w") as f:
        json.dump(fixtures, f)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {out} ({os.path.getsize(out)} bytes), "
          f"Keras {keras.__version__}, {backend_name} backend")


if __name__ == "__main__":
    main()
