export * from './cleanup.ts';
export * from './stack.ts';
export * from './vectors.ts';
