/**
 * The review body (docs/contracts.md "Reviews"): 1–5 whole stars, plain text trimmed to at
 * most 1,000 characters, nothing that looks like markup; the product's rating shape.
 */
import { describe, expect, test } from 'vitest';
import {
  ProductSchema,
  REVIEW_TEXT_MAX,
  ReviewBodySchema,
  ReviewsSchema,
} from '../src/contracts/index.ts';

describe('ReviewBodySchema', () => {
  test('takes 1–5 whole stars and an optional plain text, trimmed', () => {
    expect(ReviewBodySchema.parse({ rating: 1 })).toEqual({ rating: 1 });
    expect(ReviewBodySchema.parse({ rating: 5, text: '  Enak, 2 < 3 \n' })).toEqual({
      rating: 5,
      text: 'Enak, 2 < 3',
    });
    expect(
      ReviewBodySchema.parse({ rating: 3, text: 'x'.repeat(REVIEW_TEXT_MAX) }).text,
    ).toHaveLength(1000);
  });

  test.each([
    [{}],
    [{ rating: 0 }],
    [{ rating: 6 }],
    [{ rating: 4.5 }],
    [{ rating: '5' }],
    [{ rating: 4, text: 'x'.repeat(REVIEW_TEXT_MAX + 1) }],
    [{ rating: 4, text: '<script>alert(1)</script>' }],
    [{ rating: 4, text: 'ok </b>' }],
    [{ rating: 4, text: 'see <!-- x -->' }],
    [{ rating: 4, text: '< img src=x>' }],
    [{ rating: 4, text: 'a\u0000b' }],
  ])('refuses %j', (body) => {
    expect(ReviewBodySchema.safeParse(body).success).toBe(false);
  });
});

test('a product may carry its rating; the reviews list has average null while empty', () => {
  const p = {
    sku: 'A-1',
    name: 'Teh',
    category: 'minuman',
    description: '',
    price: 4500,
    currency: 'IDR',
    image: '/img/products/A-1.svg',
  };
  expect(ProductSchema.parse(p)).toEqual(p);
  expect(ProductSchema.parse({ ...p, rating: { average: 4.5, count: 2 } }).rating).toEqual({
    average: 4.5,
    count: 2,
  });
  expect(ProductSchema.safeParse({ ...p, rating: { average: 6, count: 1 } }).success).toBe(false);
  expect(ReviewsSchema.parse({ items: [], average: null, count: 0 }).average).toBeNull();
});
