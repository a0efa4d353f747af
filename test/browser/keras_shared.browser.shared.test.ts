/**
 * loadKerasModel in headless Chromium on webgl with the Keras models of ../shared/keras (the
 * converter-made ones and the hand export in real/, the five in converted/): each loads over
 * http and predicts Keras's outputs to ≤ 1e-5 (max |diff| ÷ max(1, |Keras|)). The largest
 * difference per model is printed at the end.
 */
import * as fs from 'fs';
import * as path from 'path';

import {browserPrecondition, findChromium} from '../helpers/browser/harness';
import {sharedPath} from '../helpers/shared';
import {kerasBrowserSuite} from './keras_suite';

const precondition = browserPrecondition();

if (precondition.skip != null) {
  describe('../shared Keras models in the browser', () => {
    it(`is not run: ${precondition.skip}`, () => {
      expect(findChromium()).toBeNull();
    });
  });
} else {
  const root = sharedPath('keras');
  const names = ['real', 'converted'].flatMap(kind => fs.readdirSync(path.join(root, kind))
      .filter(n => fs.existsSync(path.join(root, kind, n, 'model.json'))).map(n => `${kind}/${n}`));
  const lines: string[] = [];
  afterAll(() => console.log(`largest difference from Keras on webgl:\n${lines.join('\n')}`));
  kerasBrowserSuite('../shared Keras models in Chromium', precondition.executable, root, names,
                    line => lines.push(line));
}
