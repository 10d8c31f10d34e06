/** Reviews, ratings and order history (issue 14): strings in English. Must have exactly the keys of `reviews.id.ts` (the compiler checks). */
import type { ReviewsKey } from './reviews.id.ts';

export const messages: Record<ReviewsKey, string> = {
  'reviews.rating.summary': '{average} · {count} {count|one:review|other:reviews}',
  'reviews.rating.aria': 'Rated {average} out of 5, {count} {count|one:review|other:reviews}',
  'reviews.rating.none': 'No reviews yet',
  'reviews.stars.aria': '{n} out of 5 stars',

  'reviews.detail.title': 'Buyer reviews',
  'reviews.detail.empty': 'No reviews yet. Buyers can rate it from their order history.',
  'reviews.detail.failed': 'Reviews cannot be loaded right now.',
  'reviews.detail.verified': 'Verified buyer',

  'reviews.orders.title': 'Order history',
  'reviews.orders.intro': 'Orders from your shopping rooms: what you paid, receipts and reviews.',
  'reviews.orders.empty': 'No orders yet. An order shows here once your group has paid.',
  'reviews.orders.failed': 'Your order history cannot be loaded right now. Try again shortly.',
  'reviews.orders.unnamedRoom': 'Room {id}',
  'reviews.orders.share': 'Your share',
  'reviews.orders.total': 'Order total {amount}',
  'reviews.orders.receipt': 'View receipt',
  'reviews.orders.openRoom': 'Open room',
  'reviews.orders.items': 'Items',
  'reviews.orders.afterPickup': 'You can review once the order has been picked up.',
  'reviews.orders.rate': 'Rate',
  'reviews.orders.edit': 'Edit review',
  'reviews.orders.yours': 'Your rating',

  'reviews.form.rating': 'Rating for {product}',
  'reviews.form.star': '{n} {n|one:star|other:stars}',
  'reviews.form.text': 'Review (optional)',
  'reviews.form.textHint': 'Plain text, at most {max} {max|one:character|other:characters}.',
  'reviews.form.submit': 'Save review',
  'reviews.form.saved': 'Review saved.',

  'reviews.error.rating': 'Choose 1 to 5 stars.',
  'reviews.error.tooLong': 'A review is at most {max} {max|one:character|other:characters}.',
  'reviews.error.html': 'Plain text only, no HTML.',
  'reviews.error.invalid': 'This review cannot be saved. Check it and try again.',
  'reviews.error.notBuyer': 'Only members of a picked-up order can review this product.',
  'reviews.error.tooMany':
    'Too many reviews at once. Try again in {seconds} {seconds|one:second|other:seconds}.',

  'reviews.profile.link': 'Order history & reviews',
  'reviews.profile.hint': 'Past orders, receipts, and ratings for what you bought.',

  'reviews.staff.title': 'Buyer reviews',
  'reviews.staff.intro': 'Reviews of products picked up at {store}, newest first.',
  'reviews.staff.empty': 'No reviews for this store yet.',
  'reviews.staff.failed': 'Reviews cannot be loaded right now.',
  'reviews.staff.order': 'Order {id}',
};

export default messages;
