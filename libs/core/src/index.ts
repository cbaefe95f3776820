export * from './errors.ts';
export * from './types.ts';
export * from './text.ts';
export type { Embedder } from './embedder.ts';
export * from './scope.ts';
export * from './window.ts';

/** A started service; close() stops consuming and waits for nothing further. */
export interface RunningService {
  readonly name: string;
  close(): Promise<void>;
}
