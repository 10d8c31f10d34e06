export * from './provider.ts';
export { localProvider } from './local.ts';
export {
  stripeProvider,
  toStripeAmount,
  fromStripeAmount,
  stripeExponent,
  mapIntentStatus,
  createStripeClient,
  type StripeConfig,
} from './stripe.ts';
export {
  midtransProvider,
  midtransSignature,
  mapMidtransStatus,
  type MidtransConfig,
} from './midtrans.ts';
