"""Makes the converter-format Keras fixtures that test/keras/ loads (run by hand, never by npm test).

    python scripts/keras/make_converter_fixtures.py                 # all, into test/fixtures/keras
    python scripts/keras/make_converter_fixtures.py --check ../shared/keras/converted

Each fixture is a folder `test/fixtures/keras/<name>/` with `model.json` and
`group1-shard1of1.bin` as `tensorflowjs_converter` 4.22 writes them for a Keras model (written by
tfjs_layers_format.py; `--check` compares that writer with folders the real converter made) and
`reference.json`: the inputs and Keras's own `model.predict` outputs.

- Keras 3 fixtures are built with Keras 3 and the TensorFlow backend, `*_jax` ones with JAX (this
  script runs itself again with KERAS_BACKEND=jax for them).
- `keras2_*` fixtures are tf.keras 2.x files: tf-keras cannot be installed here, so their
  model.json is the Keras 3 model's rewritten into the tf.keras 2 form
  (tfjs_layers_format.keras2_model_json), and their outputs are Keras 3's outputs of a model with
  the same weights whose masks are written out explicitly the way tf.keras 2 computes them
  (`Add` ANDs its inputs' masks, MultiHeadAttention leaves its inputs' masks in place).

Every weight is drawn from normal(0, 0.3) (LayerNormalization/BatchNormalization scales from
1 + normal(0, 0.3), moving variances from uniform(0.5, 1.5)), so a weight left at its initializer
or put in the wrong place changes the outputs.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import layers, ops  # noqa: E402

import tfjs_layers_format as tfjs  # noqa: E402

BACKEND = keras.backend.backend()


def randomize(model, seed):
    """Gives every weight of `model` a random value (see the module comment)."""
    rng = np.random.default_rng(seed)
    for v in model.weights:
        shape = tuple(v.shape)
        name = v.path.split("/")[-1]
        if name in ("gamma", "scale"):
            value = 1 + rng.normal(0, 0.3, shape)
        elif name == "moving_variance":
            value = rng.uniform(0.5, 1.5, shape)
        else:
            value = rng.normal(0, 0.3, shape)
        v.assign(value.astype(v.dtype))


def tokens(rng, batch, length, vocab, lengths):
    """Token ids in [1, vocab), each row padded with 0 after its length."""
    t = rng.integers(1, vocab, size=(batch, length)).astype("int32")
    for i, n in enumerate(lengths):
        t[i, n:] = 0
    return t


def to_json(x):
    x = np.asarray(x)
    return x.astype(bool).tolist() if x.dtype == bool else x.tolist()


def save(name, model, inputs, note, outputs_model=None, model_json=None, fmt="keras3"):
    """Writes the fixture `name`: the model's files and its reference outputs."""
    folder = os.path.join(ROOT, "test", "fixtures", "keras", name)
    if model_json is None:
        tfjs.write_layers_model(model, folder)
    else:
        os.makedirs(folder, exist_ok=True)
        # the weights are the same as the Keras 3 model's: write them, then the rewritten json
        written = tfjs.write_layers_model(model, folder)
        model_json = dict(model_json, convertedBy=written["convertedBy"])
        with open(os.path.join(folder, "model.json"), "wt") as f:
            json.dump(model_json, f)
    runner = outputs_model or model
    outputs = runner.predict(inputs[0] if len(inputs) == 1 else inputs, verbose=0)
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    reference = {
        "note": note,
        "format": fmt,
        "keras": keras.__version__,
        "backend": BACKEND,
        "input_names": [t.name for t in model.inputs],
        "inputs": [to_json(x) for x in inputs],
        "input_dtypes": [str(np.asarray(x).dtype) for x in inputs],
        "outputs": [to_json(y) for y in outputs],
        "output_shapes": [list(np.asarray(y).shape) for y in outputs],
    }
    with open(os.path.join(folder, "reference.json"), "wt") as f:
        json.dump(reference, f)
    print("wrote", folder)


# ---- Keras 3 models ----

ACTIVATIONS = ["relu", "relu6", "elu", "selu", "softplus", "softsign", "silu", "swish", "gelu",
               "tanh", "sigmoid", "exponential", "hard_sigmoid", "hard_silu", "hard_swish",
               "linear", "leaky_relu", "log_sigmoid", "mish", "log_softmax", "softmax", "celu",
               "hard_tanh", "tanh_shrink", "squareplus", "sparse_plus", "soft_shrink",
               "hard_shrink", "sparse_sigmoid"]


def activations_mlp(activations=ACTIVATIONS):
    x = keras.Input((6,), name="x")
    branches = [layers.Dense(4, activation=a, name="d_" + a)(x) for a in activations]
    h = layers.Concatenate(name="concat")(branches)
    h = layers.Activation("gelu", name="act_gelu")(h)
    y = layers.Dense(3, name="out")(h)
    return keras.Model(x, y, name="activations_mlp")


def norms():
    x = keras.Input((5, 6), name="x")
    a = layers.LayerNormalization(name="ln_default")(x)
    b = layers.LayerNormalization(rms_scaling=True, epsilon=1e-3, name="ln_rms")(x)
    c = layers.LayerNormalization(center=False, name="ln_nocenter")(x)
    d = layers.LayerNormalization(scale=False, epsilon=1e-5, name="ln_noscale")(x)
    e = layers.RMSNormalization(epsilon=1e-5, name="rms")(x)
    f = layers.BatchNormalization(name="bn")(x)
    g = layers.Dropout(0.3, name="drop")(f)
    h = layers.Add(name="sum")([a, b, c, d, e, g])
    y = layers.Dense(2, name="out")(h)
    return keras.Model(x, y, name="norms")


def encoder_block(h, prefix, heads=2, key_dim=8, ffn=32, dropout=0.0, activation="gelu"):
    attn = layers.MultiHeadAttention(heads, key_dim, dropout=dropout, name=prefix + "_mha")(h, h)
    h = layers.LayerNormalization(epsilon=1e-6, name=prefix + "_ln1")(
        layers.Add(name=prefix + "_add1")([h, attn]))
    f = layers.Dense(ffn, activation=activation, name=prefix + "_ffn1")(h)
    f = layers.Dense(h.shape[-1], name=prefix + "_ffn2")(f)
    return layers.LayerNormalization(epsilon=1e-6, name=prefix + "_ln2")(
        layers.Add(name=prefix + "_add2")([h, f]))


def text_encoder(mask_zero=True):
    t = keras.Input((9,), dtype="int32", name="tokens")
    h = layers.Embedding(40, 16, mask_zero=mask_zero, name="embed")(t)
    h = encoder_block(h, "enc1")
    h = encoder_block(h, "enc2")
    p = layers.GlobalAveragePooling1D(name="pool")(h)
    y = layers.Dense(3, activation="softmax", name="classes")(p)
    return keras.Model(t, y, name="text_encoder")


def masked_rnn():
    t = keras.Input((8,), dtype="int32", name="tokens")
    e = layers.Embedding(30, 8, mask_zero=True, name="embed")(t)
    h = layers.Bidirectional(layers.LSTM(6, return_sequences=True), name="bilstm")(e)
    h = layers.SimpleRNN(5, return_sequences=True, name="rnn")(h)
    p = layers.GlobalAveragePooling1D(name="pool")(h)
    last = layers.LSTM(4, name="last")(e)
    y = layers.Dense(2, name="out")(layers.Concatenate(name="cat")([p, last]))
    return keras.Model(t, y, name="masked_rnn")


def gru_models():
    t = keras.Input((7,), dtype="int32", name="tokens")
    e = layers.Embedding(20, 6, mask_zero=True, name="embed")(t)
    h = layers.GRU(5, return_sequences=True, name="gru")(e)  # reset_after=True, Keras's default
    h = layers.Bidirectional(layers.GRU(4, return_sequences=True, dropout=0.2,
                                        recurrent_dropout=0.1), name="bigru")(h)
    p = layers.GlobalAveragePooling1D(name="pool")(h)
    old = layers.GRU(3, reset_after=False, name="gru_v1")(e)
    y = layers.Dense(2, name="out")(layers.Concatenate(name="cat")([p, old]))
    return keras.Model(t, y, name="gru_models")


def conv_stack():
    x = keras.Input((12, 5), name="x")
    h = layers.Conv1D(8, 3, padding="same", activation="relu", name="conv1")(x)
    h = layers.BatchNormalization(name="bn")(h)
    h = layers.MaxPooling1D(2, name="maxpool")(h)
    h = layers.Conv1D(6, 3, dilation_rate=2, padding="causal", name="conv2")(h)
    h = layers.SpatialDropout1D(0.2, name="sdrop")(h)
    g = layers.Conv1D(4, 2, strides=2, padding="valid", use_bias=False, name="conv3")(h)
    a = layers.GlobalMaxPooling1D(name="gmax")(h)
    b = layers.GlobalAveragePooling1D(name="gavg")(h)
    c = layers.Flatten(name="flat")(layers.AveragePooling1D(2, name="avgpool")(g))
    r = layers.Reshape((2, 3), name="reshape")(layers.Dense(6, name="to6")(a))
    r = layers.Flatten(name="flat2")(layers.Permute((2, 1), name="perm")(r))
    y = layers.Dense(3, name="out")(layers.Concatenate(name="cat")([a, b, c, r]))
    return keras.Model(x, y, name="conv_stack")


def ops_constants():
    x = keras.Input((4, 3), name="x")
    t = keras.Input((4,), dtype="int32", name="t")
    a = x * 2.0
    b = ops.add(a, np.arange(3, dtype="float32"))
    c = ops.multiply(b, ops.convert_to_tensor(np.array([0.5, -1.0, 2.0], "float32")))
    d = ops.expand_dims(ops.cast(ops.not_equal(t, 0), "float32"), -1)
    e = ops.subtract(c * d, 1.5)
    f = ops.tanh(e) + ops.mean(e, axis=-1, keepdims=True)
    g = ops.divide(f, ops.sqrt(ops.square(f) + 1.0))
    h = layers.Dense(5, name="dense")(g)
    i = ops.maximum(h, 0.1) - ops.exp(ops.minimum(h, 0.0))
    j = ops.sum(i, axis=1)
    y = ops.reshape(j, (-1, 5, 1))
    z = ops.concatenate([y, ops.transpose(ops.expand_dims(j, 1), (0, 2, 1))], axis=-1)
    return keras.Model([x, t], [j, z], name="ops_constants")


def mha_kwargs():
    q = keras.Input((5, 12), name="q")
    v = keras.Input((7, 10), name="v")
    k = keras.Input((7, 6), name="k")
    am = keras.Input((5, 7), dtype="bool", name="am")
    cross = layers.MultiHeadAttention(3, 4, value_dim=5, output_shape=(9,), name="cross")
    o = cross(query=q, value=v, key=k, attention_mask=am)
    selfattn = layers.MultiHeadAttention(2, 3, name="self_causal")
    s, scores = selfattn(o, o, use_causal_mask=True, return_attention_scores=True)
    gated = layers.MultiHeadAttention(2, 4, use_gate=True, name="gated")(s, o)
    y = layers.Dense(4, name="out")(layers.Add(name="res")([s, gated]))
    return keras.Model([q, v, k, am], [y, scores], name="mha_kwargs")


def parallel_mha_alias():
    t = keras.Input((8,), dtype="int32", name="tokens")
    e = layers.Embedding(25, 8, mask_zero=True, name="embed")(t)
    d = layers.Dropout(0.1, name="drop")(e)           # at run time: the same tensor as e
    a = layers.MultiHeadAttention(2, 4, name="mha_a")(d, d)
    b = layers.MultiHeadAttention(2, 4, name="mha_b")(d, e)
    h = layers.Add(name="sum")([a, b])
    h = layers.LayerNormalization(name="ln")(h)
    c = layers.MultiHeadAttention(2, 4, name="mha_c")(h, h)
    g = layers.Add(name="res")([e, c])
    p = layers.GlobalAveragePooling1D(name="pool")(g)
    y = layers.Dense(2, name="out")(p)
    return keras.Model(t, y, name="parallel_mha_alias")


def mask_merge(mask_zero=True):
    a = keras.Input((6,), dtype="int32", name="a")
    b = keras.Input((6,), dtype="int32", name="b")
    ea = layers.Embedding(20, 5, mask_zero=mask_zero, name="embed_a")(a)
    eb = layers.Embedding(20, 5, mask_zero=mask_zero, name="embed_b")(b)
    s = layers.Add(name="sum")([ea, eb])
    p = layers.GlobalAveragePooling1D(name="pool")(s)
    y = layers.Dense(2, name="out")(p)
    return keras.Model([a, b], y, name="mask_merge")


def sequential_mlp():
    model = keras.Sequential([keras.Input((5,), name="features"),
                              layers.Dense(7, activation="silu", name="fc1"),
                              layers.LayerNormalization(name="norm"),
                              layers.Dense(2, name="fc2")], name="sequential_mlp")
    return model


# ---- the references for the tf.keras 2 fixtures (explicit masks, as tf.keras 2 computes them) ----

def text_encoder_keras2_semantics(trained):
    """The text encoder with tf.keras 2's masks: the padding mask reaches both blocks (Add ANDs
    two equal masks, MultiHeadAttention leaves it in place) and the pooling."""
    t = keras.Input((9,), dtype="int32", name="tokens")
    pad = ops.not_equal(t, 0)
    am = ops.logical_and(ops.expand_dims(pad, 1), ops.expand_dims(pad, 2))
    h = layers.Embedding(40, 16, name="embed")(t)
    for prefix in ("enc1", "enc2"):
        attn = layers.MultiHeadAttention(2, 8, name=prefix + "_mha")(h, h, attention_mask=am)
        h = layers.LayerNormalization(epsilon=1e-6, name=prefix + "_ln1")(
            layers.Add(name=prefix + "_add1")([h, attn]))
        f = layers.Dense(32, activation="gelu", name=prefix + "_ffn1")(h)
        f = layers.Dense(16, name=prefix + "_ffn2")(f)
        h = layers.LayerNormalization(epsilon=1e-6, name=prefix + "_ln2")(
            layers.Add(name=prefix + "_add2")([h, f]))
    p = layers.GlobalAveragePooling1D(name="pool")(h, mask=pad)
    y = layers.Dense(3, activation="softmax", name="classes")(p)
    model = keras.Model(t, y)
    copy_weights(trained, model)
    return model


def mask_merge_keras2_semantics(trained):
    a = keras.Input((6,), dtype="int32", name="a")
    b = keras.Input((6,), dtype="int32", name="b")
    ea = layers.Embedding(20, 5, name="embed_a")(a)
    eb = layers.Embedding(20, 5, name="embed_b")(b)
    s = layers.Add(name="sum")([ea, eb])
    both = ops.logical_and(ops.not_equal(a, 0), ops.not_equal(b, 0))
    p = layers.GlobalAveragePooling1D(name="pool")(s, mask=both)
    y = layers.Dense(2, name="out")(p)
    model = keras.Model([a, b], y)
    copy_weights(trained, model)
    return model


def copy_weights(source, target):
    by_path = {v.path: v for v in source.weights}
    for v in target.weights:
        v.assign(by_path[v.path])


def make_tensorflow_fixtures():
    rng = np.random.default_rng(7)

    m = activations_mlp()
    randomize(m, 1)
    save("activations_mlp", m, [rng.normal(0, 1.5, (3, 6)).astype("float32")],
         "Dense branches, one per Keras 3 activation name, concatenated; an Activation layer")

    m = norms()
    randomize(m, 2)
    save("norms", m, [rng.normal(0.5, 1.5, (2, 5, 6)).astype("float32")],
         "LayerNormalization (default, rms_scaling, no center, no scale), RMSNormalization, "
         "BatchNormalization, Dropout, Add of six")

    m = text_encoder()
    randomize(m, 3)
    toks = tokens(rng, 3, 9, 40, [5, 9, 2])
    save("text_encoder", m, [toks],
         "Embedding(mask_zero) -> 2 encoder blocks -> GlobalAveragePooling1D (masked): the first "
         "MultiHeadAttention clears the padding mask, so the second block runs unmasked")

    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    save("text_encoder_compiled", m, [toks],
         "text_encoder compiled (Adam, sparse categorical crossentropy): has a training_config")

    k2 = tfjs.keras2_model_json(tfjs.read_layers_weights(
        os.path.join(ROOT, "test", "fixtures", "keras", "text_encoder"))[0])
    save("keras2_text_encoder", m, [toks],
         "tf.keras 2 form of text_encoder; outputs with tf.keras 2's masks (both blocks and the "
         "pooling masked)", outputs_model=text_encoder_keras2_semantics(m), model_json=k2,
         fmt="keras2")

    m = masked_rnn()
    randomize(m, 4)
    toks = tokens(rng, 3, 8, 30, [3, 8, 6])
    save("masked_rnn", m, [toks],
         "Embedding(mask_zero) -> Bidirectional(LSTM) -> SimpleRNN -> pooling, and an LSTM on "
         "the embedding: the padding mask reaches every recurrent layer")
    k2 = tfjs.keras2_model_json(tfjs.read_layers_weights(
        os.path.join(ROOT, "test", "fixtures", "keras", "masked_rnn"))[0])
    save("keras2_masked_rnn", m, [toks],
         "tf.keras 2 form of masked_rnn (same masks in both versions)", model_json=k2,
         fmt="keras2")

    m = conv_stack()
    randomize(m, 5)
    save("conv_stack", m, [rng.normal(0, 1, (2, 12, 5)).astype("float32")],
         "Conv1D (same, causal dilated, strided valid), BatchNormalization, pooling, "
         "SpatialDropout1D, Flatten, Reshape, Permute, Concatenate")

    k2 = tfjs.keras2_model_json(tfjs.read_layers_weights(
        os.path.join(ROOT, "test", "fixtures", "keras", "conv_stack"))[0])
    save("keras2_conv_stack", m, [np.random.default_rng(70).normal(0, 1, (2, 12, 5)).astype("float32")],
         "tf.keras 2 form of conv_stack (no masks: the same numbers in both versions)",
         model_json=k2, fmt="keras2")

    m = ops_constants()
    randomize(m, 6)
    save("ops_constants", m, [rng.normal(0, 1, (2, 4, 3)).astype("float32"),
                              tokens(rng, 2, 4, 5, [2, 4])],
         "keras.ops on functional tensors: op layers with scalars, __numpy__ and __tensor__ "
         "constants, casts, reductions; two outputs")

    m = mha_kwargs()
    randomize(m, 8)
    am = rng.random((2, 5, 7)) > 0.3
    am[:, :, 0] = True  # no fully masked query row
    save("mha_kwargs", m, [rng.normal(0, 1, (2, 5, 12)).astype("float32"),
                           rng.normal(0, 1, (2, 7, 10)).astype("float32"),
                           rng.normal(0, 1, (2, 7, 6)).astype("float32"), am],
         "mha(query=q, value=v, key=k, attention_mask=am) all by keyword; mha(o, o, "
         "use_causal_mask=True, return_attention_scores=True); use_gate")

    m = parallel_mha_alias()
    randomize(m, 9)
    save("parallel_mha_alias", m, [tokens(rng, 3, 8, 25, [4, 8, 1])],
         "Dropout output is the Embedding's tensor at run time; two MultiHeadAttention layers read "
         "it: the first clears its mask, so the second and the residual see none")

    m = mask_merge()
    randomize(m, 10)
    ins = [tokens(rng, 3, 6, 20, [3, 6, 5]), tokens(rng, 3, 6, 20, [5, 2, 6])]
    save("mask_merge", m, ins, "Add of two masked embeddings: Keras 3 ORs the masks")
    k2 = tfjs.keras2_model_json(tfjs.read_layers_weights(
        os.path.join(ROOT, "test", "fixtures", "keras", "mask_merge"))[0])
    save("keras2_mask_merge", m, ins,
         "tf.keras 2 form of mask_merge: tf.keras 2 ANDs the masks",
         outputs_model=mask_merge_keras2_semantics(m), model_json=k2, fmt="keras2")

    m = sequential_mlp()
    randomize(m, 11)
    save("sequential_mlp", m, [rng.normal(0, 1, (4, 5)).astype("float32")],
         "a Sequential model")

    m = gru_models()
    randomize(m, 71)
    toks = tokens(np.random.default_rng(72), 3, 7, 20, [4, 7, 2])
    save("gru_models", m, [toks],
         "GRU (reset_after=True, Keras's default; and False), Bidirectional(GRU with dropout), "
         "with the padding mask of an Embedding")
    k2 = tfjs.keras2_model_json(tfjs.read_layers_weights(
        os.path.join(ROOT, "test", "fixtures", "keras", "gru_models"))[0])
    save("keras2_gru_models", m, [toks], "tf.keras 2 form of gru_models (same masks)",
         model_json=k2, fmt="keras2")


def make_jax_fixtures():
    rng = np.random.default_rng(17)
    m = text_encoder()
    randomize(m, 13)
    save("text_encoder_jax", m, [tokens(rng, 3, 9, 40, [9, 4, 1])],
         "text_encoder saved with the JAX backend")
    m = parallel_mha_alias()
    randomize(m, 14)
    save("parallel_mha_alias_jax", m, [tokens(rng, 2, 8, 25, [8, 3])],
         "parallel_mha_alias saved with the JAX backend")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", metavar="FOLDER",
                        help="compare the writer with the converter-made models under FOLDER")
    parser.add_argument("--jax-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.check:
        bad = 0
        for name in sorted(os.listdir(args.check)):
            diffs = tfjs.check_against(os.path.join(args.check, name))
            print(name, "same as the converter's" if not diffs else diffs)
            bad += bool(diffs)
        sys.exit(1 if bad else 0)
    if args.jax_only:
        make_jax_fixtures()
        return
    make_tensorflow_fixtures()
    subprocess.run([sys.executable, __file__, "--jax-only"], check=True,
                   env=dict(os.environ, KERAS_BACKEND="jax"))


if __name__ == "__main__":
    main()
