/**
 * Keras's h5 weight layout, against Keras 3.15.1 itself: for each model of
 * test/fixtures/keras/keras_file/layout_facts.json (made by `scripts/keras/keras_files.py
 * layout`), every dataset path of the weights file Keras wrote and the variable it holds (as
 * Keras names it in a loaded model, which is also tensorflowjs_converter's weight name) must be
 * what kerasWeightLayout computes from the model's config.json: the class-named groups and their
 * counters (which need Keras's layer order: branches, shared layers, unused inputs), sub-layer
 * groups (MultiHeadAttention, RNN cells, Bidirectional, TimeDistributed), nested Functional and
 * Sequential models, and `keras.ops` operations that get no group.
 */
import * as fs from 'fs';
import * as path from 'path';

import {KerasObject, kerasWeightLayout} from '../../src';

interface Case {
  config: KerasObject;
  weights: Array<[string, string, number[]]>;
  layers: Record<string, string[]>;
  reversed_config_layers: Record<string, string[]>;
}

const facts = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'fixtures', 'keras',
                                                   'keras_file', 'layout_facts.json'), 'utf8')) as
    {keras: string, cases: Record<string, Case>};

const expected = (c: Case) => c.weights.map(([p, name]) => `${p} ${name}`).sort();

describe(`Keras ${facts.keras}'s weight layout`, () => {
  it('covers every layer class whose weights have a place, and the tricky graphs', () => {
    expect(Object.keys(facts.cases).length).toBeGreaterThanOrEqual(27);
    const classes = new Set(Object.values(facts.cases).flatMap(c => c.weights.map(w => w[0]))
                                .map(p => p.split('/')[1]!.replace(/_\d+$/, '')));
    for (const group of ['dense', 'embedding', 'layer_normalization', 'multi_head_attention', 'lstm',
                         'bidirectional', 'time_distributed', 'functional', 'sequential']) {
      expect(classes).toContain(group);
    }
  });

  it.each(Object.keys(facts.cases))('%s: every dataset path and weight name', async name => {
    const c = facts.cases[name]!;
    const layout = await kerasWeightLayout(c.config);
    expect(layout.map(s => `${s.path} ${s.name}`).sort()).toEqual(expected(c));
  });

  it.each(Object.keys(facts.cases).filter(n => facts.cases[n]!.config.class_name === 'Functional'))(
      '%s: the same with the config\'s layers listed in reverse (Keras orders them by the graph)',
      async name => {
        const c = facts.cases[name]!;
        expect(c.reversed_config_layers).toEqual(c.layers);
        const reversed = JSON.parse(JSON.stringify(c.config)) as KerasObject;
        (reversed.config['layers'] as unknown[]).reverse();
        const layout = await kerasWeightLayout(reversed);
        expect(layout.map(s => `${s.path} ${s.name}`).sort()).toEqual(expected(c));
      });

  it('names the layer of each weight and the nested models it is in', async () => {
    const layout = await kerasWeightLayout(facts.cases['nested']!.config);
    const inner = layout.find(s => s.name === 'd0/kernel')!;
    expect(inner).toMatchObject({layer: 'd0', className: 'Dense', scope: ['inner'],
                                 path: 'layers/functional/layers/dense/vars/0'});
    const seq = layout.find(s => s.name === 'sd/kernel')!;
    expect(seq).toMatchObject({scope: ['seq'], path: 'layers/sequential/layers/dense/vars/0'});
  });

  it('rejects a config whose graph refers to a layer it does not list, naming it', async () => {
    const broken = JSON.parse(JSON.stringify(facts.cases['branches']!.config)) as KerasObject;
    broken.config['layers'] = (broken.config['layers'] as KerasObject[])
        .filter(l => l.name !== 'a2');
    await expect(kerasWeightLayout(broken)).rejects.toThrow(/layer "a2" it does not list/);
  });
});
