/**
 * The decode → submit glue of the staff page's camera scan (web/src/lib/handover/scan.ts):
 * the browser's BarcodeDetector is feature-detected, frames are looked at until a QR holding
 * a pickup code shows, other QR codes are skipped. The detector here is a stand-in (Node has
 * no camera); the staff browser test drives the same code in Chromium with a stand-in
 * detector and camera too.
 */
import { describe, expect, it } from 'vitest';
import { pickupCodeFromScan, qrDetector, scanForCode } from '../src/lib/handover/scan.ts';

describe('pickup code scan', () => {
  it('reads a pickup code however it was written, and nothing else', () => {
    expect(pickupCodeFromScan('k7q-2mx')).toBe('K7Q2MX');
    expect(pickupCodeFromScan(' K7Q 2MX\n')).toBe('K7Q2MX');
    expect(pickupCodeFromScan('K7Q2M0')).toBeNull(); // 0 is not in the alphabet
    expect(pickupCodeFromScan('https://example.com/K7Q2MX')).toBeNull();
    expect(pickupCodeFromScan('K7Q2MXX')).toBeNull();
  });

  it('uses BarcodeDetector only where it exists and knows QR codes', async () => {
    expect(await qrDetector({})).toBeNull();
    class NoQr {
      static getSupportedFormats = async () => ['ean_13'];
      detect = async () => [];
    }
    expect(await qrDetector({ BarcodeDetector: NoQr })).toBeNull();
    const made: unknown[] = [];
    class Qr {
      static getSupportedFormats = async () => ['qr_code', 'ean_13'];
      constructor(o: unknown) {
        made.push(o);
      }
      detect = async () => [];
    }
    expect(await qrDetector({ BarcodeDetector: Qr })).toBeInstanceOf(Qr);
    expect(made).toEqual([{ formats: ['qr_code'] }]);
  });

  it('looks frame after frame, skips other codes, and returns the first pickup code', async () => {
    const frames = [
      new Error('video not ready'),
      [],
      [{ rawValue: 'https://shop.example/promo' }],
      [{ rawValue: 'not-a-code' }, { rawValue: 'h4x-r7t' }],
    ];
    let looks = 0;
    const detector = {
      detect: async () => {
        const f = frames[looks++];
        if (f instanceof Error) throw f;
        return f ?? [];
      },
    };
    const code = await scanForCode(
      detector,
      {} as CanvasImageSource,
      new AbortController().signal,
      async () => {},
    );
    expect(code).toBe('H4XR7T');
    expect(looks).toBe(4);
  });

  it('stops when the scan is closed', async () => {
    const ctl = new AbortController();
    let looks = 0;
    const code = await scanForCode(
      { detect: async () => (++looks === 3 && ctl.abort(), []) },
      {} as CanvasImageSource,
      ctl.signal,
      async () => {},
    );
    expect(code).toBeNull();
    expect(looks).toBe(3);
  });
});
