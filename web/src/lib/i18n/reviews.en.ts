/** Reviews, ratings and order history (issue 14): strings in English. Must have exactly the keys of `reviews.id.ts` (the compiler checks). */
import type { ReviewsKey } from './reviews.id.ts';

export const messages: Record<ReviewsKey, string> = {};

export default messages;
