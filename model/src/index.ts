export * from './money.ts';
export * from './split.ts';
export * from './token.ts';
export * from './room.ts';
export * from './contracts/vocabulary.ts';
export * from './packing.ts';
