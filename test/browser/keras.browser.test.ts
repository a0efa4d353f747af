/**
 * loadKerasModel in headless Chromium on webgl: every converter-format fixture
 * (test/fixtures/keras) loads over http from 127.0.0.1 and predicts Keras's outputs to ≤ 1e-5
 * (max |diff| ÷ max(1, |Keras|)), leaving no tensor behind. The models of ../shared are in
 * keras_shared.browser.shared.test.ts.
 */
import {browserPrecondition, findChromium} from '../helpers/browser/harness';
import {fixtureNames, FIXTURES} from '../helpers/keras_models';
import {kerasBrowserSuite} from './keras_suite';

const precondition = browserPrecondition();

if (precondition.skip != null) {
  describe('Keras fixtures in the browser', () => {
    it(`is not run: ${precondition.skip}`, () => {
      expect(findChromium()).toBeNull();
    });
  });
} else {
  kerasBrowserSuite('Keras fixtures in Chromium', precondition.executable, FIXTURES,
                    fixtureNames());
}
