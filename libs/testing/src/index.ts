export * from './cleanup.ts';
export * from './stack.ts';
export * from './vectors.ts';
export * from './kafka-partitions.ts';
export * from './certificate.ts';
export * from './fixtures.ts';
