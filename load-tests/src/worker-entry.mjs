// Worker-thread bootstrap. Node 20 does not carry the parent's module hooks (tsx) into worker
// threads, so the worker starts as plain JavaScript and loads the TypeScript engine via tsx.
import { tsImport } from 'tsx/esm/api';

await tsImport('./worker-main.ts', import.meta.url);
