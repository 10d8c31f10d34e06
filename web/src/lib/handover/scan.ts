/**
 * Reading the shoppers' pickup code at the counter: from a QR code through the browser's
 * `BarcodeDetector` where it exists (feature-detected; Chrome on Android has it), typed
 * otherwise. The QR holds the bare code (`PickupCard.svelte`), so a typed code and a scanned
 * one reach settlement the same way.
 */

/** The pickup-code alphabet: no 0/O, 1/I/L (settlement's `ids.ts`). */
const CODE = /^[2-9A-HJKMNP-Z]{6}$/;

/** What a scan or a typist produced, as a pickup code, or null when it is not one. */
export function pickupCodeFromScan(raw: string): string | null {
  const code = raw.replace(/[\s-]/g, '').toUpperCase();
  return CODE.test(code) ? code : null;
}

/** The part of the Barcode Detection API we use (lib.dom has no types for it yet). */
export interface Detector {
  detect(source: CanvasImageSource): Promise<{ rawValue: string }[]>;
}
interface DetectorClass {
  new (o?: { formats?: string[] }): Detector;
  getSupportedFormats?(): Promise<string[]>;
}

/** The browser's QR detector, or null where there is none (then staff type the code). */
export async function qrDetector(g: object = globalThis): Promise<Detector | null> {
  const D = (g as { BarcodeDetector?: DetectorClass }).BarcodeDetector;
  if (typeof D !== 'function') return null;
  try {
    const formats = (await D.getSupportedFormats?.()) ?? ['qr_code'];
    return formats.includes('qr_code') ? new D({ formats: ['qr_code'] }) : null;
  } catch {
    return null;
  }
}

/**
 * Looks at `source` frame after frame until a QR code holding a pickup code shows, and returns
 * that code; null when `signal` aborts first. Codes that are no pickup code (a shop's own QR,
 * a half-read frame) are skipped. `nextFrame` waits between looks (an animation frame).
 */
export async function scanForCode(
  detector: Detector,
  source: CanvasImageSource,
  signal: AbortSignal,
  nextFrame: () => Promise<void> = () => new Promise((r) => requestAnimationFrame(() => r())),
): Promise<string | null> {
  while (!signal.aborted) {
    let found: { rawValue: string }[] = [];
    try {
      found = await detector.detect(source);
    } catch {
      // the video is not playing yet: try the next frame
    }
    for (const f of found) {
      const code = pickupCodeFromScan(f.rawValue);
      if (code) return code;
    }
    await nextFrame();
  }
  return null;
}

/**
 * Puts a scanned code into the form's pickup-code field and submits the form, as if staff had
 * typed it and pressed the button (the same action, the same checks).
 */
export function submitCode(form: HTMLFormElement, code: string, field = 'pickupCode'): void {
  const input = form.elements.namedItem(field);
  if (!(input instanceof HTMLInputElement)) throw new Error(`the form has no ${field} field`);
  input.value = code;
  form.requestSubmit();
}
