export * from './stack.ts';
export * from './vectors.ts';
