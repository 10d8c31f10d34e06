import { describe, expect, it } from 'vitest';
import { messages as id } from '../src/lib/i18n/room.id.ts';
import { messages as en } from '../src/lib/i18n/room.en.ts';
import { translate } from '../src/lib/i18n/translate.ts';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('room i18n catalogues', () => {
  it('have the same keys in Bahasa Indonesia and English, none empty', () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(id).sort());
    for (const [k, v] of [...Object.entries(id), ...Object.entries(en)]) {
      expect(v.trim(), k).not.toBe('');
      expect(k.startsWith('room.'), k).toBe(true);
    }
  });

  it('use the same placeholders in both languages', () => {
    for (const k of Object.keys(id) as (keyof typeof id)[]) {
      expect(placeholders(en[k]), k).toEqual(placeholders(id[k]));
    }
  });

  it('are merged into the app translator, Bahasa Indonesia first', () => {
    const p = { who: 'Budi', qty: 2, product: 'Indomie Goreng' };
    expect(translate('id', 'room.activity.added', p)).toBe('Budi menambahkan 2 × Indomie Goreng');
    expect(translate('en', 'room.activity.added', p)).toBe('Budi added 2 × Indomie Goreng');
  });
});
