/**
 * MultiHeadAttention against Keras 3.15.1's and tf.keras 2.21's own outputs
 * (test/fixtures/keras/mha, made by scripts/keras/make_mha_fixtures.py): every case, on cpu and
 * wasm, through each call form —
 * Keras's keyword form with masks on the tensors, the positional list with tfjs's `mask` list,
 * and a tfjs model (Masking layers propagate the masks) run by `predict`. Held to
 * max |diff| ÷ max(1, |Keras|) ≤ 1e-5.
 */
import * as tf from '@tensorflow/tfjs';

import {multiHeadAttention, MultiHeadAttentionInput, useBestBackend} from '../../src';
import {argsOf, keras2MhaFixtures, KerasMhaCase, KerasMhaFixtures, kerasMhaFixtures, relativeError, setKerasWeights, toTensor} from '../helpers/keras_mha_fixtures';

const TOLERANCE = 1e-5;

/** The case's tensors, and its masks as booleans. */
function tensorsOf(c: KerasMhaCase) {
  const i = c.inputs;
  const query = toTensor(i.query!);
  return {
    query,
    value: c.call.self_attention ? query : toTensor(i.value!),
    key: i.key == null ? null : toTensor(i.key),
    attentionMask: i.attention_mask == null ? null : toTensor(i.attention_mask, 'bool'),
    queryMask: i.query_mask == null ? null : toTensor(i.query_mask, 'bool'),
    valueMask: i.value_mask == null ? null : toTensor(i.value_mask, 'bool'),
    keyMask: i.key_mask == null ? null : toTensor(i.key_mask, 'bool'),
  };
}

/**
 * The layout of the case's positional inputs. In a model, self-attention passes its tensor once
 * (`inputOrder` without 'value'); eagerly, as `[query, query]`.
 */
function layoutOf(c: KerasMhaCase, form: Form): MultiHeadAttentionInput[] {
  const once = form === 'model' && c.call.self_attention;
  return ['query', ...(once ? [] : ['value' as const]), ...(c.call.key ? ['key' as const] : []),
          ...(c.call.attention_mask ? ['attentionMask' as const] : [])];
}

type Form = 'keywords'|'list'|'model';

/** Runs the case in one call form; returns [output, scores?] and the output's mask. */
/** Puts `mask` on `tensor` as tfjs's mask propagation does (none: no `kerasMask` at all). */
function setKerasMask(tensor: tf.Tensor, mask: tf.Tensor|null|undefined): void {
  if (mask == null) {
    delete tensor.kerasMask;
  } else {
    tensor.kerasMask = mask;
  }
}

async function run(c: KerasMhaCase, form: Form): Promise<{errors: number[], outputMask?: number[]|null|undefined}> {
  const before = tf.memory().numTensors;
  const t = tensorsOf(c);
  const constants = {useCausalMask: c.call.use_causal_mask,
                     returnAttentionScores: c.call.return_attention_scores};
  let outputs: tf.Tensor[];
  let outputMask: number[]|null|undefined;
  let dispose: () => void;
  if (form === 'model') {
    const {outputs: o, disposeModel} = predictInModel(c, t);
    outputs = o;
    dispose = disposeModel;
  } else {
    const layer = multiHeadAttention({...argsOf(c), inputOrder: form === 'list' ? layoutOf(c, form) : null});
    const call = () => {
      if (form === 'keywords') {
        // Masks on the tensors, as tfjs's mask propagation leaves them.
        setKerasMask(t.query, t.queryMask);
        if (!c.call.self_attention) {
          setKerasMask(t.value, t.valueMask);
        }
        if (t.key != null) {
          setKerasMask(t.key, t.keyMask);
        }
        return layer.apply(t.query, {value: t.value, ...(t.key ? {key: t.key} : {}),
                                     ...(t.attentionMask ? {attentionMask: t.attentionMask} : {}),
                                     ...constants});
      }
      const list = [t.query, t.value, ...(t.key ? [t.key] : []),
                    ...(t.attentionMask ? [t.attentionMask] : [])];
      const masks = [t.queryMask, c.call.self_attention ? t.queryMask : t.valueMask,
                     ...(t.key ? [t.keyMask] : []), ...(t.attentionMask ? [null] : [])];
      return layer.apply(list, {mask: masks, ...constants});
    };
    tf.dispose(call() as tf.Tensor|tf.Tensor[]);  // builds
    setKerasWeights(layer, c);
    const result = call() as tf.Tensor|tf.Tensor[];
    outputs = Array.isArray(result) ? result : [result];
    if (form === 'keywords') {
      const mask = outputs[0]!.kerasMask;
      outputMask = mask == null ? null : Array.from(await mask.data());
      mask?.dispose();
    }
    dispose = () => layer.dispose();
  }
  const expected = [c.outputs.output, ...(c.outputs.scores ? [c.outputs.scores] : [])];
  expect(outputs.length).toBe(expected.length);
  const errors = await Promise.all(outputs.map((o, i) => relativeError(o, expected[i]!)));
  tf.dispose(outputs);
  tf.dispose(Object.values(t).filter(x => x != null) as tf.Tensor[]);
  dispose();
  expect(tf.memory().numTensors).toBe(before);
  return {errors, outputMask};
}

/** The case as a tfjs model: inputs → Masking (where Keras had masks) → the layer; `predict`. */
function predictInModel(c: KerasMhaCase, t: ReturnType<typeof tensorsOf>) {
  const symbolic = (x: tf.Tensor, masked: boolean) => {
    const input = tf.input({shape: x.shape.slice(1)});
    const out = masked ? tf.layers.masking({maskValue: 0}).apply(input) as tf.SymbolicTensor : input;
    return {input, out};
  };
  const masks = c.call.propagated_masks;
  const q = symbolic(t.query, masks.includes('query'));
  const v = c.call.self_attention ? q : symbolic(t.value, masks.includes('value'));
  const k = t.key == null ? null : symbolic(t.key, masks.includes('key'));
  const am = t.attentionMask == null ? null : tf.input({shape: t.attentionMask.shape.slice(1)});
  const layer = multiHeadAttention({
    ...argsOf(c), useCausalMask: c.call.use_causal_mask,
    returnAttentionScores: c.call.return_attention_scores, inputOrder: layoutOf(c, 'model')});
  const out = layer.apply([q.out, ...(c.call.self_attention ? [] : [v.out]), ...(k ? [k.out] : []),
                           ...(am ? [am] : [])]);
  const inputs = [q.input, ...(c.call.self_attention ? [] : [v.input]), ...(k ? [k.input] : []),
                  ...(am ? [am] : [])];
  const model = tf.model({inputs, outputs: out as tf.SymbolicTensor|tf.SymbolicTensor[]});
  setKerasWeights(layer, c);
  // A model input is float32: the attention mask goes in as 0/1 (the layer reads != 0).
  const amFloat = t.attentionMask == null ? null : tf.cast(t.attentionMask, 'float32');
  const feed = [t.query, ...(c.call.self_attention ? [] : [t.value]), ...(t.key ? [t.key] : []),
                ...(amFloat ? [amFloat] : [])];
  const result = model.predict(feed);
  return {outputs: Array.isArray(result) ? result : [result],
          disposeModel: () => {
            amFloat?.dispose();
            model.dispose();
          }};
}

const runs = ['cpu', 'wasm'].flatMap(backend => [
  [backend, 'Keras 3.15.1', kerasMhaFixtures] as const,
  [backend, 'tf.keras 2.21', keras2MhaFixtures] as const,
]);

describe.each(runs)('MultiHeadAttention on %s matches %s', (backend, keras, fixtures: KerasMhaFixtures) => {
  const cases = fixtures.cases;
  let worst = 0;
  beforeAll(async () => {
    const choice = await useBestBackend({order: [backend]});
    expect(choice.backend).toBe(backend);
  });
  afterAll(() => {
    console.log(`MultiHeadAttention on ${backend} vs ${keras}: largest max |diff| / max(1, |Keras|) ` +
                `over ${cases.length} cases × 3 call forms: ${worst.toExponential(2)}`);
  });

  it('the fixtures are what they say', () => {
    const keras3 = fixtures === kerasMhaFixtures;
    expect(fixtures.keras_version).toBe(keras3 ? '3.15.1' : '2.21.0');
    expect(cases.length).toBeGreaterThanOrEqual(20);
    expect(new Set(cases.map(c => c.keras_path))).toEqual(
        new Set(keras3 ? ['dot_product_attention', 'einsum'] : ['keras2']));
  });

  describe.each(['keywords', 'list', 'model'] as Form[])('called as %s', form => {
    // A [timeQ, timeK] attention mask has no batch axis, which a tfjs model input always has.
    const formCases = cases.filter(c => form !== 'model' || c.inputs.attention_mask?.shape.length !== 2);
    it.each(formCases.map(c => [c.name, c] as const))('%s', async (_name, c) => {
      const {errors, outputMask} = await run(c, form);
      for (const e of errors) {
        worst = Math.max(worst, e);
        expect(e).toBeLessThanOrEqual(TOLERANCE);
      }
      if (outputMask !== undefined) {
        expect(outputMask).toEqual(c.outputs.output_mask?.values ?? null);
      }
    });
  });
});
