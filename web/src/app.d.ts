// See https://svelte.dev/docs/kit/types#app.d.ts
import type { User } from '$lib/server/auth.ts';

declare global {
  namespace App {
    interface Locals {
      /** The signed-in user (or guest), null when nobody is signed in. */
      user: User | null;
      locale: 'id' | 'en';
    }
    interface Error {
      message: string;
      code?: string;
    }
    interface PageData {
      /** The page is rendered without SvelteKit's client (`csr = false`): the home page. */
      noClient?: boolean;
    }
    // interface PageState {}
    // interface Platform {}
  }
}

export {};
