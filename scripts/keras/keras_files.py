"""The `.keras` fixtures that test/keras/keras_file*.test.ts read (run by hand, never by npm test).

    python scripts/keras/keras_files.py layout    # Keras's h5 layout facts -> layout_facts.json
    python scripts/keras/keras_files.py make      # extra .keras files made by Keras
    python scripts/keras/keras_files.py check     # Keras loads the files the saver wrote
    python scripts/keras/keras_files.py check --keras-src DIR   # ... with another Keras 3 too

Everything goes to test/fixtures/keras/keras_file/:

- `layout_facts.json` (layout): for a set of small models, one per layer class whose weights the
  loader and saver place (plus nested models and graphs whose layer order is not obvious), the
  model's config.json as Keras writes it, every dataset of its weights file with the variable it
  holds (its `path` in a model loaded back from the file, the name tensorflowjs_converter uses),
  and `model.layers` in order, also for the config with its layers list reversed (Keras recomputes
  the order from the graph). Each variable gets distinct random values to tell them apart.
- `made/<name>/model.keras` + `reference.json` (make): models the shared Keras files do not cover
  (nested Functional and Sequential models), with Keras's predictions.
- `npx ts-node --transpile-only scripts/keras/save_fixtures.ts` (the package's saveKerasModel)
  writes `saved/<name>.keras` for each tfjs-made model of test/helpers/keras_file_models.ts, and
  `.tmp/keras_file/from_keras/<name>.keras` for each Keras file in ../shared/keras/keras3 loaded
  by loadKerasModel and saved again (not committed: derived from ../shared; npm test makes it
  again), each with `<name>.inputs.json` (inputs and tfjs's predictions).
- `check` loads each with `keras.models.load_model` (no custom objects), predicts on those
  inputs, and writes `saved/<name>.record.json` or `from_keras/<name>.record.json`: the Keras
  version and backend, the sha256 of the file and of its config.json and model.weights.h5, and
  Keras's outputs. npm test asserts the records (the same bytes, tfjs's predictions within 1e-5
  of Keras's). With `--keras-src DIR` (a checkout of keras-team/keras at an older tag, e.g.
  v3.9.2, run from source with the numpy backend: no older Keras 3 is on pip's index here), each
  file is also loaded by that Keras, and its outputs go into the record too.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "test", "fixtures", "keras", "keras_file")

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def keras_modules():
    import numpy as np
    import keras
    return np, keras


# ---- layout --------------------------------------------------------------------------------

def layout_cases():
    np, keras = keras_modules()
    from keras import layers

    def seq3(*ls):
        return keras.Sequential([keras.Input((5, 6), name="x"), *ls], name="seq")

    x = lambda: keras.Input((5, 6), name="x")  # noqa: E731

    def model(fn):
        inp = x()
        out = fn(inp)
        return keras.Model(inp, out, name="model")

    cases = {
        "dense": lambda: model(lambda t: layers.Dense(4, name="fc")(t)),
        "dense_no_bias": lambda: model(lambda t: layers.Dense(4, use_bias=False, name="fc")(t)),
        "einsum_dense": lambda: model(lambda t: layers.EinsumDense(
            "abc,cd->abd", output_shape=(None, 4), bias_axes="d", name="e")(t)),
        "embedding": lambda: (lambda i: keras.Model(i, layers.Embedding(9, 4, name="emb")(i)))(
            keras.Input((5,), dtype="int32", name="ids")),
        "layer_norm": lambda: model(lambda t: layers.LayerNormalization(name="ln")(t)),
        "layer_norm_no_center": lambda: model(
            lambda t: layers.LayerNormalization(center=False, name="ln")(t)),
        "rms_norm": lambda: model(lambda t: layers.RMSNormalization(name="rms")(t)),
        "group_norm": lambda: model(lambda t: layers.GroupNormalization(groups=2, name="gn")(t)),
        "batch_norm": lambda: model(lambda t: layers.BatchNormalization(name="bn")(t)),
        "conv1d": lambda: model(lambda t: layers.Conv1D(3, 2, name="c1")(t)),
        "conv1d_transpose": lambda: model(lambda t: layers.Conv1DTranspose(3, 2, name="ct")(t)),
        "depthwise_conv1d": lambda: model(lambda t: layers.DepthwiseConv1D(2, name="dw")(t)),
        "separable_conv1d": lambda: model(lambda t: layers.SeparableConv1D(3, 2, name="sep")(t)),
        "prelu": lambda: model(lambda t: layers.PReLU(name="p")(t)),
        "mha": lambda: model(lambda t: layers.MultiHeadAttention(2, 3, name="att")(t, t)),
        "mha_gate_no_bias": lambda: model(lambda t: layers.MultiHeadAttention(
            2, 3, use_gate=True, use_bias=False, name="att")(t, t)),
        "lstm": lambda: model(lambda t: layers.LSTM(4, name="l")(t)),
        "gru": lambda: model(lambda t: layers.GRU(4, name="g")(t)),
        "simple_rnn": lambda: model(lambda t: layers.SimpleRNN(4, use_bias=False, name="r")(t)),
        "bidirectional": lambda: model(lambda t: layers.Bidirectional(
            layers.LSTM(4, name="inner"), name="bi")(t)),
        "time_distributed": lambda: model(lambda t: layers.TimeDistributed(
            layers.Dense(2, name="inner"), name="td")(t)),
        "sequential": lambda: seq3(layers.Dense(4, name="a"), layers.LayerNormalization(),
                                   layers.Dense(4, name="b"), layers.Dropout(0.1),
                                   layers.Dense(2)),
        "branches": branches,
        "shared_layer": shared_layer,
        "nested": nested,
        "nested_output": nested_output,
        "masked_pooling": masked_pooling,
    }
    return cases


def branches():
    """Parallel Dense layers whose config order is not their creation order."""
    np, keras = keras_modules()
    from keras import layers
    a_in = keras.Input((4,), name="a_in")
    b_in = keras.Input((3,), name="b_in")
    unused = keras.Input((2,), name="unused")
    late = layers.Dense(3, name="late")
    early = layers.Dense(3, name="early")
    b1 = early(b_in)
    a1 = layers.Dense(3, name="a1")(a_in)
    a2 = layers.Dense(3, name="a2")(a1)
    merged = layers.Add(name="add")([late(a2), b1])
    out1 = layers.Dense(2, name="out1")(merged)
    out2 = layers.Dense(1, name="out2")(a1)
    return keras.Model([a_in, b_in, unused], [out2, out1], name="branches")


def shared_layer():
    """One Dense called twice at different depths (one h5 group, two nodes)."""
    np, keras = keras_modules()
    from keras import layers
    inp = keras.Input((4,), name="x")
    shared = layers.Dense(4, name="shared")
    h = shared(inp)
    h = layers.Dense(4, name="mid")(h)
    out = shared(h)
    return keras.Model(inp, out, name="shared")


def nested():
    """A Functional called twice and a Sequential inside a Functional."""
    np, keras = keras_modules()
    from keras import layers
    ii = keras.Input((6,), name="ii")
    inner = keras.Model(ii, layers.Dense(3, name="d")(layers.Dense(4, name="d0")(ii)),
                        name="inner")
    seq = keras.Sequential([keras.Input((3,)), layers.Dense(2, name="sd")], name="seq")
    xi = keras.Input((6,), name="xi")
    a = inner(layers.Dense(6, name="d_outer")(xi))
    b = inner(xi)
    return keras.Model(xi, [seq(a), layers.Dense(2, name="head")(b)], name="nested")


def nested_output():
    """A nested Functional's output is the model's output (Keras counts its built-in node)."""
    np, keras = keras_modules()
    from keras import layers
    ii = keras.Input((4,), name="ii")
    inner = keras.Model(ii, layers.Dense(3, name="d")(ii), name="inner")
    xi = keras.Input((4,), name="xi")
    return keras.Model(xi, inner(layers.Dense(4, name="pre")(xi)), name="nested_output")


def masked_pooling():
    """keras.ops operations (NotEqual, …) in the graph: not in model.layers, no h5 group."""
    np, keras = keras_modules()
    from keras import layers
    ids = keras.Input((5,), dtype="int32", name="ids")
    e = layers.Embedding(9, 4, mask_zero=True, name="emb")(ids)
    h = layers.MultiHeadAttention(2, 2, name="att")(e, e)
    h = layers.Add(name="res")([e, h])
    p = layers.GlobalAveragePooling1D(name="pool")(h)
    return keras.Model(ids, layers.Dense(2, name="out")(p), name="masked_pooling")


def distinct_values(model, seed):
    np, _ = keras_modules()
    rng = np.random.default_rng(seed)
    for v in model.weights:
        v.assign(rng.normal(0, 1, tuple(v.shape)).astype(v.dtype))


def h5_datasets(data):
    import io
    import h5py
    out = []
    with h5py.File(io.BytesIO(data), "r") as f:
        f.visititems(lambda name, o: out.append((name, o[()])) if isinstance(o, h5py.Dataset)
                     else None)
    return out


def container_orders(model, path=""):
    """`model.layers` names of the model and of every nested model, by container path."""
    _, keras = keras_modules()
    orders = {path: [layer.name for layer in model.layers]}
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            orders.update(container_orders(layer, f"{path}{layer.name}/"))
    return orders


def layout():
    np, keras = keras_modules()
    cases = {}
    tmp = tempfile.mkdtemp()
    for i, (name, build) in enumerate(layout_cases().items()):
        m = build()
        distinct_values(m, i)
        file = os.path.join(tmp, f"{name}.keras")
        m.save(file)
        loaded = keras.models.load_model(file)
        with zipfile.ZipFile(file) as z:
            config = json.loads(z.read("config.json"))
            datasets = h5_datasets(z.read("model.weights.h5"))
        weights = []
        for path, value in datasets:
            matches = [v.path for v in loaded.weights
                       if tuple(v.shape) == value.shape and np.array_equal(np.asarray(v), value)]
            if len(matches) != 1:
                raise SystemExit(f"{name}: {path} matches {matches}")
            weights.append([path, matches[0], list(value.shape)])
        reversed_config = json.loads(json.dumps(config))
        if config["class_name"] == "Functional":
            reversed_config["config"]["layers"].reverse()
        rebuilt = keras.models.model_from_json(json.dumps(reversed_config))
        cases[name] = {
            "config": config,
            "weights": weights,
            "layers": container_orders(loaded),
            "reversed_config_layers": container_orders(rebuilt),
        }
    facts = {
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "generated_by": "scripts/keras/keras_files.py layout",
        "cases": cases,
    }
    write_json(os.path.join(OUT, "layout_facts.json"), facts)
    print(f"layout: {len(cases)} cases")


# ---- make ----------------------------------------------------------------------------------

def make():
    np, keras = keras_modules()
    rng = np.random.default_rng(13)
    for name, build, inputs in [
        ("nested", nested, lambda: [rng.normal(0, 1, (3, 6)).astype("float32")]),
        ("nested_output", nested_output, lambda: [rng.normal(0, 1, (3, 4)).astype("float32")]),
        ("branches", branches, lambda: [rng.normal(0, 1, (3, 4)).astype("float32"),
                                        rng.normal(0, 1, (3, 3)).astype("float32"),
                                        rng.normal(0, 1, (3, 2)).astype("float32")]),
    ]:
        m = build()
        for v in m.weights:
            v.assign(rng.normal(0, 0.3, tuple(v.shape)).astype(v.dtype))
        folder = os.path.join(OUT, "made", name)
        os.makedirs(folder, exist_ok=True)
        file = os.path.join(folder, "model.keras")
        m.save(file)
        x = inputs()
        loaded = keras.models.load_model(file)
        y = loaded.predict(x, verbose=0)
        y = y if isinstance(y, (list, tuple)) else [y]
        write_json(os.path.join(folder, "reference.json"), {
            "name": name,
            "keras": keras.__version__,
            "backend": keras.backend.backend(),
            "inputs": [{"name": t.name, "dtype": str(v.dtype), "shape": list(v.shape),
                        "data": v.ravel().tolist()} for t, v in zip(m.inputs, x)],
            "outputs": [{"shape": list(v.shape), "data": np.asarray(v).ravel().tolist()}
                        for v in y],
            "generated_by": "scripts/keras/keras_files.py make",
        })
        print(f"make: {name}")


# ---- check ---------------------------------------------------------------------------------

def predict_file(file, inputs):
    """Loads `file` with this process's Keras and predicts `inputs` (a list of arrays)."""
    np, keras = keras_modules()
    model = keras.models.load_model(file)
    y = model.predict(inputs if len(inputs) > 1 else inputs[0], verbose=0)
    y = y if isinstance(y, (list, tuple)) else [y]
    return [{"shape": list(np.shape(v)), "data": np.asarray(v, dtype="float64").ravel().tolist()}
            for v in y]


def check(keras_src):
    """Records what Keras predicts for the files the saver wrote (see the module comment)."""
    jobs = []
    saved = os.path.join(OUT, "saved")
    for f in sorted(os.listdir(saved)):
        if f.endswith(".keras"):
            name = f[:-len(".keras")]
            jobs.append((name, os.path.join(saved, f), os.path.join(saved, f"{name}.inputs.json"),
                         os.path.join(saved, f"{name}.record.json")))
    regenerated = os.path.join(ROOT, ".tmp", "keras_file", "from_keras")
    if os.path.isdir(regenerated):
        for f in sorted(os.listdir(regenerated)):
            if f.endswith(".keras"):
                name = f[:-len(".keras")]
                jobs.append((name, os.path.join(regenerated, f),
                             os.path.join(regenerated, f"{name}.inputs.json"),
                             os.path.join(OUT, "from_keras", f"{name}.record.json")))
    else:
        print(f"check: no {regenerated} (run scripts/keras/save_fixtures.ts with ../shared "
              "beside the checkout): only the tfjs-made files are checked")
    np, keras = keras_modules()
    for name, file, inputs_file, record_file in jobs:
        with open(file, "rb") as f:
            data = f.read()
        with zipfile.ZipFile(file) as z:
            members = {m: hashlib.sha256(z.read(m)).hexdigest()
                       for m in ("config.json", "model.weights.h5")}
        with open(inputs_file) as f:
            spec = json.load(f)
        inputs = [np.asarray(i["data"], dtype=i["dtype"]).reshape(i["shape"])
                  for i in spec["inputs"]]
        record = {
            "name": name,
            "sha256": hashlib.sha256(data).hexdigest(),
            "members_sha256": members,
            "keras": keras.__version__,
            "backend": keras.backend.backend(),
            "outputs": predict_file(file, inputs),
            "generated_by": "scripts/keras/keras_files.py check",
        }
        if keras_src:
            record["older_keras"] = older_keras(keras_src, file, spec)
            if "source" in spec:
                # The same Keras on the file Keras itself saved, with the keys newer than it
                # (holding their defaults) left out: what that Keras makes of the original.
                original = without_newer_keys(os.path.join(ROOT, spec["source"]))
                of_original = older_keras(keras_src, original, spec)
                record["older_keras"]["original"] = {
                    k: v for k, v in of_original.items() if k in ("outputs", "error")}
                os.unlink(original)
        worst = max(max_relative_diff(k["data"], t["data"])
                    for k, t in zip(record["outputs"], spec["tfjs_outputs"]))
        record["max_difference_from_tfjs"] = worst
        write_json(record_file, record)
        older = ""
        if keras_src:
            o = record["older_keras"]
            older = (f"; Keras {o['keras']}: " + (f"fails: {o['error']}" if "error" in o else
                     f"largest difference from tfjs {max(max_relative_diff(k['data'], t['data']) for k, t in zip(o['outputs'], spec['tfjs_outputs'])):.2e}"))
        print(f"check: {name}: Keras {keras.__version__} loads it; largest difference from "
              f"tfjs {worst:.2e}{older}")


# Keys Keras added after 3.9 (constructor arguments of 3.15.1 missing in 3.9.2) and their
# defaults; an older Keras refuses a config that has them.
NEWER_KEYS = {"quantization_config": None, "lora_alpha": None, "gptq_unpacked_column_size": None,
              "input_axes": None, "output_axes": None, "use_gate": False, "sliding_window": None,
              "renorm": False, "renorm_clipping": None, "output_padding": None, "optional": False}


def without_newer_keys(file):
    """A copy of the .keras `file` whose config.json lacks NEWER_KEYS that hold defaults."""
    def strip(v):
        if isinstance(v, list):
            return [strip(x) for x in v]
        if isinstance(v, dict):
            return {k: strip(x) for k, x in v.items()
                    if not (k in NEWER_KEYS and x == NEWER_KEYS[k])
                    and not (k == "renorm_momentum" and v.get("renorm") is not True)}
        return v
    out = tempfile.NamedTemporaryFile(suffix=".keras", delete=False).name
    with zipfile.ZipFile(file) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "config.json":
                data = json.dumps(strip(json.loads(data))).encode()
            dst.writestr(name, data)
    return out


def older_keras(keras_src, file, spec):
    """Loads `file` with the Keras at `keras_src` (TensorFlow backend) in a subprocess.

    Returns {keras, backend, outputs}, or {keras, backend, error} with the last line of the
    error when that Keras cannot load or run the file.
    """
    code = (
        "import json, sys\n"
        "import numpy as np, keras\n"
        "print(json.dumps({'keras': keras.__version__, 'backend': keras.backend.backend()}))\n"
        "spec = json.load(open(sys.argv[2]))\n"
        "x = [np.asarray(i['data'], dtype=i['dtype']).reshape(i['shape']) for i in spec['inputs']]\n"
        "m = keras.models.load_model(sys.argv[1])\n"
        "y = m.predict(x if len(x) > 1 else x[0], verbose=0)\n"
        "y = y if isinstance(y, (list, tuple)) else [y]\n"
        "print(json.dumps({'outputs': [{'shape': list(np.shape(v)), 'data': np.asarray(v, "
        "dtype='float64').ravel().tolist()} for v in y]}))\n"
    )
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(spec, f)
    env = dict(os.environ, PYTHONPATH=os.path.abspath(keras_src), KERAS_BACKEND="tensorflow")
    out = subprocess.run([sys.executable, "-c", code, file, f.name], env=env,
                         capture_output=True, text=True)
    os.unlink(f.name)
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise SystemExit(f"the Keras at {keras_src} does not start:\n{out.stderr[-3000:]}")
    result = lines[0]
    if out.returncode != 0:
        errors = [line for line in out.stderr.strip().splitlines() if "Error" in line]
        result["error"] = errors[-1] if errors else out.stderr.strip().splitlines()[-1]
    else:
        result.update(lines[1])
    return result


def max_relative_diff(a, b):
    np, _ = keras_modules()
    a = np.asarray(a, dtype="float64")
    b = np.asarray(b, dtype="float64")
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b))))) if a.size else 0.0


def write_json(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(value, f, separators=(",", ":"))
        f.write("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["layout", "make", "check"])
    parser.add_argument("--keras-src", help="an older Keras 3 source checkout for `check`")
    args = parser.parse_args()
    {"layout": layout, "make": make, "check": lambda: check(args.keras_src)}[args.command]()


if __name__ == "__main__":
    main()
