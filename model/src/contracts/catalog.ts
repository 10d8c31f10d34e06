/**
 * Products, stores and stock as settlement answers them (docs/contracts.md "Settlement API" ›
 * "Shapes"): settlement's catalog and seed produce these, web's catalog, store picker and staff
 * pages read them, and the settlement client checks answers against them.
 */
import { z } from 'zod';
import { ORDER_STATUSES } from './vocabulary.ts';

const minor = z.number().int();
const count = z.number().int();

/**
 * A product's verified-purchase reviews in two numbers (docs/contracts.md "Reviews"):
 * `average` of the 1–5 stars (two decimals), null while `count` is 0.
 */
export const RatingSchema = z.object({
  average: z.number().min(1).max(5).nullable(),
  count: count.nonnegative(),
});
export type Rating = z.infer<typeof RatingSchema>;

/** `GET /products/<sku>`, and each item of `GET /products`. Prices in minor units. */
export const ProductSchema = z.object({
  sku: z.string().min(1),
  name: z.string(),
  category: z.string(),
  description: z.string(),
  price: minor.nonnegative(),
  currency: z.string(),
  /** A path on web's origin (`/img/products/<sku>.svg`). */
  image: z.string(),
  /** Always sent by settlement; optional so seed data and older answers still type. */
  rating: RatingSchema.optional(),
});
export type Product = z.infer<typeof ProductSchema>;

/** A paginated list (`GET /products`, `GET /stores/<id>/orders`). */
export const pageOf = <T extends z.ZodType>(item: T) =>
  z.object({ items: z.array(item), total: count, page: count, size: count });

export const ProductPageSchema = pageOf(ProductSchema);
export type ProductPage = z.infer<typeof ProductPageSchema>;

/** `GET /categories` → `{items: Category[]}`. */
export const CategorySchema = z.object({ id: z.string(), count: count });
export type Category = z.infer<typeof CategorySchema>;

/** `GET /stores/<id>`. */
export const StoreSchema = z.object({
  id: z.string().min(1),
  name: z.string(),
  address: z.string(),
  city: z.string(),
  region: z.string(),
  lat: z.number(),
  lng: z.number(),
  openingHours: z.string(),
  /** IANA time zone of the store's local days (WIB / WITA / WIT); absent from older settlements. */
  timezone: z.string().optional(),
});
export type Store = z.infer<typeof StoreSchema>;

/** One sku of `GET /stores?skus=…` at one store: what the cart wants and what is there. */
export const StoreAvailabilitySchema = z.object({
  sku: z.string(),
  wanted: count,
  available: count,
});
export type StoreAvailability = z.infer<typeof StoreAvailabilitySchema>;

/** Each item of `GET /stores?lat=&lng=&skus=`: nearest first. */
export const NearbyStoreSchema = StoreSchema.extend({
  /** Null when no point was given. */
  distanceKm: z.number().nullable(),
  availability: z.array(StoreAvailabilitySchema),
  /** Every asked sku is there in the wanted quantity. */
  canFulfil: z.boolean(),
});
export type NearbyStore = z.infer<typeof NearbyStoreSchema>;

export const NearbyStoresSchema = z.object({ items: z.array(NearbyStoreSchema), total: count });
export type NearbyStores = z.infer<typeof NearbyStoresSchema>;

/** `GET /stores/<id>/stock` items and `PUT /stores/<id>/stock/<sku>`'s answer. */
export const StockItemSchema = z.object({
  sku: z.string(),
  onHand: count,
  held: count,
  committed: count,
  available: count,
});
export type StockItem = z.infer<typeof StockItemSchema>;

/** One order as a store's staff see it (`GET /stores/<id>/orders`, …/pickup/<code>). */
export const StoreOrderSchema = z.object({
  /** Order id (what `POST /orders/<id>/status` takes). */
  id: z.string(),
  /**
   * The reference shoppers and staff both see (and say aloud): 8 of `2–9 A–Z` without
   * I, L, O. Absent only on orders from before it existed.
   */
  orderRef: z.string().optional(),
  settlementId: z.string(),
  roomId: z.string(),
  status: z.enum(ORDER_STATUSES),
  /**
   * Never in staff answers: the shoppers show it at the counter, staff type or scan it to
   * complete. Kept in the schema for older settlements that still sent it.
   */
  pickupCode: z.string().optional(),
  total: minor,
  currency: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  lines: z.array(
    z.object({
      sku: z.string(),
      name: z.string(),
      qty: count,
      /** The line's note from the cart ("no sugar"), when it has one. */
      note: z.string().optional(),
    }),
  ),
  /** Shares to be paid at the counter. */
  dueAtStore: z.array(z.object({ memberId: z.string(), name: z.string(), amount: minor })),
  /** Who collects at the counter (the organiser unless the room named someone else). */
  collector: z.object({ memberId: z.string(), name: z.string() }).optional(),
  /** The packing list: one bag per member, labelled with their name (`packingList`). */
  bags: z
    .array(
      z.object({
        memberId: z.string(),
        name: z.string(),
        /** The member's share of the order and how it was paid. */
        amount: minor.optional(),
        method: z.string().optional(),
        paymentStatus: z.string().optional(),
        lines: z.array(
          z.object({
            lineId: z.string(),
            sku: z.string(),
            name: z.string(),
            qty: count,
            lineQty: count,
            unitPrice: minor,
            sharedWith: z.array(z.string()).optional(),
            note: z.string().optional(),
          }),
        ),
      }),
    )
    .optional(),
});
export type StoreOrder = z.infer<typeof StoreOrderSchema>;

/**
 * `GET /payment-methods` → what this deployment takes, in offering order, and the default.
 * `method` is read as an open string: a newer settlement may offer a method this build does
 * not know, which readers skip.
 */
export const PaymentMethodsSchema = z.object({
  items: z.array(
    z.object({
      method: z.string(),
      label: z.string(),
      channels: z.array(z.string()).optional(),
    }),
  ),
  default: z.string(),
});
export type PaymentMethods = z.infer<typeof PaymentMethodsSchema>;
