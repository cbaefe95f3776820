export { Batcher } from './batcher.ts';
export type { BatcherOptions } from './batcher.ts';
export {
  MODEL_ARTIFACT,
  MODEL_FILE,
  MODEL_NAME,
  TOKENIZER_FILE,
  defaultModelDir,
  ensureModel,
  fetchModel,
  modelFilesPresent,
  modelMissingHelp,
} from './model-files.ts';
export type { EnsureModelOptions, FetchModelOptions, LogFn } from './model-files.ts';
export { OnnxEmbedder } from './onnx-embedder.ts';
export { MAX_TOKENS, TokenWindow } from './token-window.ts';
export type { OnnxEmbedderOptions } from './onnx-embedder.ts';
export { OPENAI_MAX_INPUT_TOKENS, OpenAIEmbedder } from './openai-embedder.ts';
export type { OpenAIEmbedderOptions } from './openai-embedder.ts';
export { cosine, l2normalize } from './vector.ts';
