/**
 * The package's own SHA-256 (used in pages without SubtleCrypto) against Node's crypto, at the
 * lengths where padding changes (55, 56, 63, 64 bytes…), on random data, and on the FIPS 180-4
 * examples; sha256Hex (Node's crypto here) agrees.
 */
import * as crypto from 'crypto';

import {sha256Hex, sha256HexSync} from '../../src/io/sha256';
import {rng} from '../helpers/reference';

const node = (data: Uint8Array) => crypto.createHash('sha256').update(data).digest('hex');

describe('sha256HexSync', () => {
  it('gives the FIPS 180-4 example digests', () => {
    const text = (s: string) => new TextEncoder().encode(s);
    expect(sha256HexSync(text('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256HexSync(text('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')))
        .toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
    expect(sha256HexSync(new Uint8Array(0))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('matches Node\'s crypto at every length up to 300 bytes and on 1 MiB of random bytes', async () => {
    const next = rng(3);
    for (const length of [...Array.from({length: 301}, (_, i) => i), 2 ** 20]) {
      const data = Uint8Array.from({length}, () => Math.floor(next() * 256));
      const expected = node(data);
      expect(sha256HexSync(data)).toBe(expected);
      if (length % 50 === 0) {
        expect(await sha256Hex(data)).toBe(expected);
      }
    }
  });
});
