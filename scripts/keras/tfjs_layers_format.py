"""Writes a Keras model in the layers-model format that `tensorflowjs_converter` 4.22 writes.

`tensorflowjs` cannot be installed here, so this module does what its converter does for a Keras
model, step by step (tfjs-converter/python/tensorflowjs/converters/keras_h5_conversion.py):

1. `model.save("x.h5")`: Keras's own legacy HDF5 writer. It stores the model config (Keras's
   `saving_utils.model_metadata`) and, per layer, the weights under their variable paths.
2. `h5_merged_saved_model_to_tfjs_format`: the topology is `{keras_version, backend,
   model_config[, training_config]}`; the weights are the layers of the `model_weights` group in
   h5py's iteration order (sorted by name), each layer's weights in its `weight_names` order
   (trainable, then non-trainable), named by that path with any ":0" suffix dropped.
3. `write_weights`: one group, cut into 4 MiB shards named `group1-shard{i}of{n}.bin`, float64
   stored as float32 and int64 as int32; `model.json` is `{format, generatedBy, convertedBy,
   modelTopology, weightsManifest}` written with `json.dump`.

`check_against(folder)` rebuilds a model from a folder the real converter wrote, gives it that
folder's weights, writes it again with `write_layers_model` and reports every difference (the
JSON, the weight names and order, the bytes).

The Keras 2 (tf.keras) form: `tf-keras` cannot be installed here either, so `keras2_model_json`
rewrites a Keras 3 converter model.json into the form tf.keras 2.x and the converter give the same
model (see that function).
"""
import copy
import json
import os
import tempfile

import h5py
import numpy as np

SHARD_BYTES = 4 * 1024 * 1024
CONVERTED_BY = "tfjs-self-attention scripts/keras (the layout of TensorFlow.js Converter v4.22.0)"
_DTYPES = {np.dtype(np.float16): np.float32, np.dtype(np.float64): np.float32,
           np.dtype(np.int64): np.int32}


def _text(value):
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def _h5_weights(group):
    """The converter's `_convert_h5_group`: [(name, array)] of one layer's group."""
    out = []
    if "weight_names" in group.attrs:
        for name in [_text(n) for n in group.attrs["weight_names"].tolist()]:
            normalized = name[:-2] if name.endswith(":0") else name
            out.append((normalized, np.array(group[name])))
    else:
        for key in group.keys():
            out += _h5_weights(group[key])
    return out


def h5_to_topology_and_weights(h5_path):
    """The converter's `h5_merged_saved_model_to_tfjs_format` (one weight group)."""
    with h5py.File(h5_path, "r") as f:
        topology = {"keras_version": _text(f.attrs["keras_version"]),
                    "backend": _text(f.attrs["backend"]),
                    "model_config": json.loads(_text(f.attrs["model_config"]))}
        if "training_config" in f.attrs:
            topology["training_config"] = json.loads(_text(f.attrs["training_config"]))
        weights = []
        for layer_name in f["model_weights"]:
            weights += _h5_weights(f["model_weights"][layer_name])
    return topology, weights


def write_artifacts(topology, weights, folder, converted_by=CONVERTED_BY):
    """The converter's `write_artifacts` + `write_weights` for one group of weights."""
    os.makedirs(folder, exist_ok=True)
    entries, data = [], []
    for name, value in weights:
        value = np.asarray(value)
        value = value.astype(_DTYPES.get(value.dtype, value.dtype))
        dtype = {"float32": "float32", "int32": "int32", "bool": "bool"}[value.dtype.name]
        entries.append({"name": name, "shape": list(value.shape), "dtype": dtype})
        data.append(value.tobytes(order="C"))
    blob = b"".join(data)
    count = max(1, -(-len(blob) // SHARD_BYTES))
    paths = []
    for i in range(count):
        path = "group1-shard%dof%d.bin" % (i + 1, count)
        with open(os.path.join(folder, path), "wb") as f:
            f.write(blob[i * SHARD_BYTES:(i + 1) * SHARD_BYTES])
        paths.append(path)
    version = topology.get("keras_version") if topology else None
    model_json = {"format": "layers-model",
                  "generatedBy": ("keras v%s" % version) if version else None,
                  "convertedBy": converted_by,
                  "modelTopology": topology,
                  "weightsManifest": [{"paths": paths, "weights": entries}]}
    with open(os.path.join(folder, "model.json"), "wt") as f:
        json.dump(model_json, f)
    return model_json


def write_layers_model(model, folder):
    """Saves `model` into `folder` as `tensorflowjs_converter --input_format keras` would."""
    with tempfile.TemporaryDirectory() as tmp:
        h5 = os.path.join(tmp, "model.h5")
        model.save(h5)
        topology, weights = h5_to_topology_and_weights(h5)
    return write_artifacts(topology, weights, folder)


def read_layers_weights(folder):
    """{name: array} of a layers-model folder, in manifest order."""
    with open(os.path.join(folder, "model.json")) as f:
        model_json = json.load(f)
    out = {}
    for group in model_json["weightsManifest"]:
        blob = b"".join(open(os.path.join(folder, p), "rb").read() for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            dtype = np.dtype({"float32": "<f4", "int32": "<i4", "bool": "?"}[w["dtype"]])
            count = int(np.prod(w["shape"])) if w["shape"] else 1
            size = count * dtype.itemsize
            out[w["name"]] = np.frombuffer(blob[offset:offset + size], dtype).reshape(w["shape"])
            offset += size
    return model_json, out


def op_custom_objects():
    """Keras's legacy HDF5 reader cannot rebuild the op layers (`NotEqual`, ...) that Keras 3
    itself writes into a functional config; name their classes for it (except those whose names
    are layers' names, which that reader cannot tell apart)."""
    from keras.src.ops import numpy as knp
    from keras.src.ops import core as kcore
    from keras.src.ops import math as kmath
    from keras.src.ops import nn as knn
    import keras
    objects = {}
    for module in (knp, kcore, kmath, knn):
        for name in dir(module):
            obj = getattr(module, name)
            # `Add`, `Multiply`, ... are layers too: the reader keeps those for layers.
            if isinstance(obj, type) and name[:1].isupper() and not hasattr(keras.layers, name):
                objects.setdefault(name, obj)
    return objects


def model_from_layers_json(model_json):
    """The Keras model of a converter model.json (Keras 3 config), weights not set."""
    from keras.src.legacy.saving import saving_utils
    return saving_utils.model_from_config(copy.deepcopy(model_json["modelTopology"]["model_config"]),
                                          custom_objects=op_custom_objects())


def set_weights_by_path(model, named):
    """Gives every variable of `model` the array of `named` under its path."""
    missing = [v.path for v in model.weights if v.path not in named]
    if missing:
        raise ValueError("no weights for %s" % missing)
    for v in model.weights:
        v.assign(named[v.path])


def _differences(a, b, path=""):
    if type(a) is not type(b):
        return ["%s: %r != %r" % (path, a, b)]
    if isinstance(a, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                out.append("%s/%s: only in %s" % (path, k, "the first" if k in a else "the second"))
            else:
                out += _differences(a[k], b[k], "%s/%s" % (path, k))
        return out
    if isinstance(a, list):
        if len(a) != len(b):
            return ["%s: %d items != %d items" % (path, len(a), len(b))]
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += _differences(x, y, "%s/%d" % (path, i))
        return out
    return [] if a == b else ["%s: %r != %r" % (path, a, b)]


def check_against(folder):
    """Rewrites the converter-made model in `folder` with this module; returns the differences
    (an empty list when the JSON, apart from `convertedBy`, and the weight bytes are equal)."""
    model_json, named = read_layers_weights(folder)
    model = model_from_layers_json(model_json)
    set_weights_by_path(model, named)
    with tempfile.TemporaryDirectory() as tmp:
        mine = write_layers_model(model, tmp)
        _, mine_named = read_layers_weights(tmp)
        theirs_bytes = b"".join(open(os.path.join(folder, p), "rb").read()
                                for g in model_json["weightsManifest"] for p in g["paths"])
        mine_bytes = b"".join(open(os.path.join(tmp, p), "rb").read()
                              for g in mine["weightsManifest"] for p in g["paths"])
    a = dict(model_json, convertedBy=None)
    b = dict(mine, convertedBy=None)
    out = _differences(a, b)
    if theirs_bytes != mine_bytes:
        out.append("weight bytes differ (%d vs %d bytes)" % (len(theirs_bytes), len(mine_bytes)))
    if list(named) != list(mine_named):
        out.append("weight order differs: %s vs %s" % (list(named), list(mine_named)))
    return out


# ---- the Keras 2 (tf.keras) form ----

def _keras2_object(obj):
    """A Keras 3 serialized object ({module, class_name, config, registered_name}) in the legacy
    form tf.keras 2.x writes: {class_name, config}; DTypePolicy becomes its name."""
    if isinstance(obj, dict):
        if obj.get("class_name") == "DTypePolicy":
            return obj["config"]["name"]
        if "class_name" in obj and "config" in obj and "module" in obj:
            config = {k: _keras2_object(v) for k, v in obj["config"].items()
                      if k not in ("input_axes", "output_axes")}
            return {"class_name": obj["class_name"], "config": config}
        return {k: _keras2_object(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_keras2_object(v) for v in obj]
    return obj


def _keras2_ref(value):
    """A Keras 3 node argument as tf.keras 2 writes it inside node kwargs."""
    if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
        return list(value["config"]["keras_history"])
    if isinstance(value, dict) and value.get("class_name") in ("__tensor__", "__numpy__"):
        return value["config"]["value"]
    if isinstance(value, list):
        return [_keras2_ref(v) for v in value]
    return value


# Keras 3 config keys that tf.keras 2.x layers do not have.
_KERAS3_ONLY = {"optional", "quantization_config", "use_gate", "sliding_window", "rms_scaling",
                "synchronized", "lora_rank", "lora_alpha", "seed_generator"}


def keras2_model_json(model_json, layer_kwargs=None, drop_mask_ops=True):
    """Rewrites a Keras 3 converter model.json into the form tf.keras 2.x + the converter write.

    What changes (as tf.keras 2.15 writes a Functional model into HDF5):
    - `InputLayer.batch_shape` -> `batch_input_shape`; dtypes are plain strings; initializers,
      regularizers and constraints are `{class_name, config}` without `module`/`registered_name`.
    - nodes are `[[layer, node, tensor, kwargs], ...]`, one entry per tensor of the first call
      argument, the other arguments in kwargs with tensors as `[layer, node, tensor]`
      (`mha(q, v)` -> `[["q", 0, 0, {"value": ["v", 0, 0]}]]`); `input_layers`/`output_layers`
      are lists of `[layer, node, tensor]`.
    - masks are not written: tf.keras 2 propagates them at run time, so the `NotEqual`/
      `LogicalOr` op layers Keras 3 writes for a `mask=` argument and the `mask` kwargs go.
    - `MultiHeadAttention` carries `query_shape`/`key_shape`/`value_shape`, no `use_gate` or
      `sliding_window`; `LayerNormalization.axis` is the list of positive axes.
    - weight names are the variables' tf.keras 2 names (`layer/sub/weight`, with a Bidirectional
      wrapper's name in front of its inner layers' names).
    `layer_kwargs` adds kwargs to some layers' nodes ({layer: {key: value}}).
    """
    out = copy.deepcopy(model_json)
    topology = out["modelTopology"]
    topology["keras_version"] = "2.15.0"
    config = topology["model_config"]["config"]
    layers = config["layers"]
    mask_ops = {l["name"] for l in layers
                if drop_mask_ops and l["class_name"] in ("NotEqual", "LogicalOr")}
    shapes = {}
    for layer in layers:
        for node in layer["inbound_nodes"]:
            for arg in list(node["args"]) + list(node["kwargs"].values()):
                for t in (arg if isinstance(arg, list) else [arg]):
                    if isinstance(t, dict) and t.get("class_name") == "__keras_tensor__":
                        shapes[t["config"]["keras_history"][0]] = t["config"]["shape"]
    new_layers = []
    for layer in layers:
        if layer["name"] in mask_ops:
            continue
        cls = layer["class_name"]
        c = _keras2_object(layer["config"])
        for k in list(c):
            if k in _KERAS3_ONLY:
                del c[k]
        if cls == "InputLayer":
            c = {"batch_input_shape": c.pop("batch_shape"), "dtype": c["dtype"],
                 "sparse": c["sparse"], "ragged": c["ragged"], "name": c["name"]}
        if cls == "LayerNormalization":
            rank = None
            node = layer["inbound_nodes"][0]
            rank = len(node["args"][0]["config"]["shape"])
            c["axis"] = [a % rank for a in c["axis"]]
        if cls == "Embedding":
            c["input_length"] = None
        if cls == "Bidirectional":
            # tf.keras 2 keeps the wrapped layer's own config (its forward copy is named
            # "forward_" + that name) and writes backward_layer only when one was given.
            inner = c["layer"]["config"]
            if inner["name"].startswith("forward_"):
                inner["name"] = inner["name"][len("forward_"):]
            c.pop("backward_layer", None)
        rnns = ([(cls, c)] if cls in ("LSTM", "GRU", "SimpleRNN") else
                [(c["layer"]["class_name"], c["layer"]["config"])] if cls == "Bidirectional" else [])
        for rnn_class, rnn in rnns:
            rnn.pop("seed", None)
            rnn.pop("zero_output_for_mask", None)
            rnn["time_major"] = False
            if rnn_class in ("LSTM", "GRU"):
                rnn["implementation"] = 2
        nodes = []
        for node in layer["inbound_nodes"]:
            args, kwargs = node["args"], dict(node["kwargs"])
            kwargs.pop("mask", None)
            if cls == "MultiHeadAttention":
                q = args[0] if args else kwargs.pop("query")
                rest = list(args[1:])
                if rest:
                    kwargs["value"] = rest.pop(0)
                if rest:
                    kwargs["key"] = rest.pop(0)
                c["query_shape"] = q["config"]["shape"]
                c["value_shape"] = kwargs["value"]["config"]["shape"]
                c["key_shape"] = (kwargs["key"] if "key" in kwargs else kwargs["value"])["config"]["shape"]
                first = [q]
            else:
                first = args[0] if isinstance(args[0], list) else [args[0]]
                if len(args) > 1:
                    raise ValueError("%s: positional arguments after the first" % layer["name"])
            kw = {k: _keras2_ref(v) for k, v in kwargs.items()}
            kw.update((layer_kwargs or {}).get(layer["name"], {}))
            nodes.append([list(t["config"]["keras_history"]) + [kw] for t in first])
        new_layers.append({"class_name": cls, "config": c, "name": layer["name"],
                           "inbound_nodes": nodes})
    config["layers"] = new_layers
    for key in ("input_layers", "output_layers"):
        value = config[key]
        if value and not isinstance(value[0], list):
            config[key] = [value]
    # weight names
    renames = {}
    for layer in layers:
        if layer["class_name"] == "Bidirectional":
            for inner in ("layer", "backward_layer"):
                inner_name = layer["config"][inner]["config"]["name"]
                renames[inner_name + "/"] = layer["name"] + "/" + inner_name + "/"
    for group in out["weightsManifest"]:
        for w in group["weights"]:
            for old, new in renames.items():
                if w["name"].startswith(old):
                    w["name"] = new + w["name"][len(old):]
    return out
