// See https://svelte.dev/docs/kit/types#app.d.ts
declare global {
  namespace App {
    interface Locals {
      /** The signed-in user (or guest), null when nobody is signed in. */
      user: {
        id: string;
        name: string;
        email?: string;
        friendId: string;
        guest: boolean;
        staffStoreId?: string;
      } | null;
      locale: 'id' | 'en';
    }
    interface Error {
      message: string;
      code?: string;
    }
    // interface PageData {}
    // interface PageState {}
    // interface Platform {}
  }
}

export {};
