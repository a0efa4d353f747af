/**
 * A trained date model ready to translate: split once into encoder and decoder (so each input
 * is encoded once), with its vocabulary and calibration, assessing every translation (see
 * scope.ts). What `npm run translate`, `npm run evaluate:dates` and the browser page call. No
 * Node-only import.
 *
 *   const translator = new Translator(model, vocab, calibration);
 *   translator.assess(['Jan 20th 2019', 'tomorrow']);
 *   // [{input: 'Jan 20th 2019', output: '2019-01-20', confidence: 0.9999, flagged: false, reason: null},
 *   //  {input: 'tomorrow', output: null, confidence: 0.41, flagged: true, reason: 'the input has words …'}]
 */
import * as tf from '@tensorflow/tfjs';

import {DateDecoder, decode, Decoded, splitDateModel} from './model';
import {assessInputs, Assessment, Calibration} from './scope';
import {Vocab} from './vocab';

export class Translator {
  private readonly parts: DateDecoder;

  constructor(readonly model: tf.LayersModel, readonly vocab: Vocab,
              readonly calibration: Calibration) {
    this.parts = splitDateModel(model);
  }

  /** Greedy decoding of valid texts (see `decode`), `batchSize` at a time. */
  decode(texts: string[], batchSize = 256): Decoded {
    return decode(this.model, this.vocab, texts, batchSize, this.parts);
  }

  /** One assessment per input, in order; inputs are trimmed first. */
  assess(inputs: string[]): Assessment[] {
    return assessInputs(inputs.map(t => t.trim()), this.vocab, texts => this.decode(texts),
                        this.calibration);
  }
}
