"""Trains the example's Keras 3 text classifier and saves it as classifier.keras (run by hand).

    python examples/keras/train.py

A review of a few words is positive, negative or mixed: "the soup was good", "the service was
not good" (negation flips a word), "the food was good but the service was slow" (mixed). The
model is an ordinary Keras 3 transformer classifier: Embedding(mask_zero=True) → two encoder
blocks (MultiHeadAttention, residual Add, LayerNormalization, a Dense feed-forward) →
GlobalAveragePooling1D over the real tokens → Dense softmax.

One word, "superb", is in the vocabulary but in no training review: the Keras model has never
seen it, and calls "the soup was superb" whatever its untrained embedding says. The tfjs demo
(`npm run keras:demo`) loads the file, fine-tunes on a few reviews that use it, and saves the
model back as a `.keras` file that Keras loads.

Writes, next to this script: classifier.keras, vocab.json (word → id; 0 pads), and
keras_predictions.json (what Keras predicts for the demo's reviews, which the demo compares with
tfjs's).
"""
import json
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras import layers  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
LENGTH = 12
CLASSES = ["negative", "positive", "mixed"]

SUBJECTS = ["the soup", "the food", "the service", "the room", "the staff", "the coffee",
            "the music", "the view"]
POSITIVE = ["good", "great", "lovely", "friendly", "fresh"]
NEGATIVE = ["bad", "slow", "cold", "rude", "noisy"]
NEW_WORD = "superb"  # in the vocabulary, never in Keras's training data

WORDS = sorted({w for s in SUBJECTS for w in s.split()} | set(POSITIVE) | set(NEGATIVE) |
               {"was", "not", "but", "and", "very", NEW_WORD})
VOCAB = {w: i + 1 for i, w in enumerate(WORDS)}  # 0 pads

# The reviews the demo predicts on (the last three use the new word).
DEMO_REVIEWS = [
    "the soup was good",
    "the service was not good",
    "the food was good but the service was slow",
    "the staff was very rude",
    "the coffee was superb",
    "the view was not superb",
    "the room was superb but the music was noisy",
]


def clause(rng):
    """One clause and its polarity (+1 / -1)."""
    subject = SUBJECTS[rng.integers(len(SUBJECTS))]
    positive = rng.random() < 0.5
    word = (POSITIVE if positive else NEGATIVE)[rng.integers(5)]
    negated = rng.random() < 0.3
    very = "very " if rng.random() < 0.2 and not negated else ""
    polarity = (1 if positive else -1) * (-1 if negated else 1)
    return f"{subject} was {'not ' if negated else ''}{very}{word}", polarity


def review(rng):
    """A review of one or two clauses and its class."""
    first, p1 = clause(rng)
    if rng.random() < 0.5:
        return first, 1 if p1 > 0 else 0
    second, p2 = clause(rng)
    joiner = "but" if p1 != p2 else "and"
    label = (1 if p1 > 0 else 0) if p1 == p2 else 2
    return f"{first} {joiner} {second}", label


def encode(text):
    ids = [VOCAB[w] for w in text.split()]
    if len(ids) > LENGTH:
        raise ValueError(f"too long: {text}")
    return ids + [0] * (LENGTH - len(ids))


def build():
    tokens = keras.Input((LENGTH,), dtype="int32", name="tokens")
    x = layers.Embedding(len(VOCAB) + 1, 32, mask_zero=True, name="embed")(tokens)
    for b in (1, 2):
        att = layers.MultiHeadAttention(num_heads=2, key_dim=16, name=f"block{b}_attention")(x, x)
        x = layers.LayerNormalization(name=f"block{b}_norm1")(layers.Add(name=f"block{b}_add1")([x, att]))
        ff = layers.Dense(64, activation="relu", name=f"block{b}_ffn1")(x)
        ff = layers.Dense(32, name=f"block{b}_ffn2")(ff)
        x = layers.LayerNormalization(name=f"block{b}_norm2")(layers.Add(name=f"block{b}_add2")([x, ff]))
    pooled = layers.GlobalAveragePooling1D(name="pool")(x)
    out = layers.Dense(len(CLASSES), activation="softmax", name="classes")(pooled)
    return keras.Model(tokens, out, name="review_classifier")


def main():
    keras.utils.set_random_seed(7)
    rng = np.random.default_rng(7)
    data = [review(rng) for _ in range(6000)]
    x = np.array([encode(t) for t, _ in data], dtype="int32")
    y = np.array([label for _, label in data], dtype="int32")
    model = build()
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=8, batch_size=64, validation_split=0.1, verbose=2)
    model.save(os.path.join(HERE, "classifier.keras"))
    with open(os.path.join(HERE, "vocab.json"), "w") as f:
        json.dump({"length": LENGTH, "classes": CLASSES, "words": VOCAB}, f, indent=1)
        f.write("\n")
    loaded = keras.models.load_model(os.path.join(HERE, "classifier.keras"))
    probabilities = loaded.predict(np.array([encode(t) for t in DEMO_REVIEWS]), verbose=0)
    with open(os.path.join(HERE, "keras_predictions.json"), "w") as f:
        json.dump({
            "keras": keras.__version__,
            "validation_accuracy": float(history.history["val_accuracy"][-1]),
            "reviews": DEMO_REVIEWS,
            "probabilities": probabilities.astype("float64").tolist(),
            "generated_by": "examples/keras/train.py",
        }, f, indent=1)
        f.write("\n")
    for text, p in zip(DEMO_REVIEWS, probabilities):
        print(f"{CLASSES[int(np.argmax(p))]:>8}  {p.round(3)}  {text}")


if __name__ == "__main__":
    main()
