"""Keras's predictions for the demo's reviews from a `.keras` file (run by hand).

    python examples/keras/predict.py trained/keras/fine_tuned.keras
    python examples/keras/predict.py trained/keras/fine_tuned.keras --record --steps 20

Loads the file with `keras.models.load_model` (no custom objects) and prints, for each review of
keras_predictions.json, the class and probabilities Keras gives it. With --record, also writes
them to keras_fine_tuned_predictions.json next to this script, for the file that
`npm run keras:demo -- --steps N` saved (--steps N, default 20, the demo's default); the demo
and its test compare tfjs's fine-tuned predictions with that record.
"""
import argparse
import json
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import keras  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("file", help="a .keras file, e.g. trained/keras/fine_tuned.keras")
    parser.add_argument("--record", action="store_true",
                        help="write keras_fine_tuned_predictions.json")
    parser.add_argument("--steps", type=int, default=20,
                        help="the demo's --steps that made the file (recorded with --record)")
    args = parser.parse_args()
    with open(os.path.join(HERE, "vocab.json")) as f:
        vocab = json.load(f)
    with open(os.path.join(HERE, "keras_predictions.json")) as f:
        reviews = json.load(f)["reviews"]
    ids = [[vocab["words"][w] for w in r.split()] for r in reviews]
    x = np.array([row + [0] * (vocab["length"] - len(row)) for row in ids], dtype="int32")
    model = keras.models.load_model(args.file)
    probabilities = model.predict(x, verbose=0)
    print(f"Keras {keras.__version__}, {args.file}:")
    for text, p in zip(reviews, probabilities):
        print(f"  {vocab['classes'][int(np.argmax(p))]:<8} [{', '.join(f'{v:.3f}' for v in p)}]  {text}")
    if args.record:
        path = os.path.join(HERE, "keras_fine_tuned_predictions.json")
        with open(path, "w") as f:
            json.dump({
                "keras": keras.__version__,
                "file": f"what npm run keras:demo -- --steps {args.steps} saves",
                "steps": args.steps,
                "reviews": reviews,
                "probabilities": probabilities.astype("float64").tolist(),
                "generated_by": "examples/keras/predict.py --record",
            }, f, indent=1)
            f.write("\n")
        print(f"wrote {os.path.relpath(path)}")


if __name__ == "__main__":
    main()
