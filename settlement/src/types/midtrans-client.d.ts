// midtrans-client ships no types; this declares the small part Patungan uses.
declare module 'midtrans-client' {
  interface Options {
    isProduction?: boolean;
    serverKey?: string;
    clientKey?: string;
  }
  interface ApiConfig {
    getCoreApiBaseUrl(): string;
    getSnapApiBaseUrl(): string;
  }
  type Json = Record<string, unknown>;
  interface Transaction {
    status(id: string): Promise<Json>;
    cancel(id: string): Promise<Json>;
    expire(id: string): Promise<Json>;
    refund(id: string, parameter?: Json): Promise<Json>;
  }
  export class Snap {
    constructor(options?: Options);
    apiConfig: ApiConfig;
    transaction: Transaction;
    createTransaction(parameter: Json): Promise<{ token: string; redirect_url: string }>;
  }
  export class CoreApi {
    constructor(options?: Options);
    apiConfig: ApiConfig;
    transaction: Transaction;
    capture(parameter: Json): Promise<Json>;
  }
  export class MidtransError extends Error {
    httpStatusCode: number | null;
    ApiResponse: unknown;
  }
  const midtrans: {
    Snap: typeof Snap;
    CoreApi: typeof CoreApi;
    MidtransError: typeof MidtransError;
  };
  export default midtrans;
}
