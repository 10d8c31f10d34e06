import { describe, expect, it } from 'vitest';
import { firstName, graphemes, initials } from '../src/lib/room/ui/text.ts';
import { productSvg } from '../src/lib/product-art.ts';

describe('avatar initials by grapheme (item 10)', () => {
  it('never split an emoji, a flag or an accented letter', () => {
    expect(initials('Budi 😀')).toBe('B😀');
    expect(initials('😀 Budi')).toBe('😀B');
    expect(initials('👩‍👩‍👧 Keluarga')).toBe('👩‍👩‍👧K');
    expect(initials('Budi 🇮🇩')).toBe('B🇮🇩');
    expect(initials('e\u0301lodie')).toBe('E\u0301');
    expect(initials('  Ani  Kusuma  Dewi ')).toBe('AD');
    expect(initials('')).toBe('?');
    for (const s of ['Budi 😀', '😀 Budi', 'Budi 🇮🇩'])
      expect(initials(s)).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
    expect(graphemes('a😀b')).toEqual(['a', '😀', 'b']);
    expect(firstName('Anindya Kusumawardhani')).toBe('Anindya');
  });
});

describe('product pictures (item 11)', () => {
  it('are small SVGs without letters, different per product', () => {
    const skus = ['SEM-0001', 'SEM-0002', 'MIN-0001', 'ELE-0110', 'BAY-0020', 'XYZ-0001'];
    const svgs = skus.map(productSvg);
    expect(new Set(svgs).size).toBe(skus.length);
    for (const s of svgs) {
      expect(s.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
      expect(s).not.toMatch(/<text|<script|href=/);
      expect(Buffer.byteLength(s)).toBeLessThan(2048);
    }
    expect(productSvg('SEM-0001')).toBe(productSvg('SEM-0001'));
  });
});
