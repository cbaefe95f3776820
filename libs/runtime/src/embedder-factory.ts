import { byteWindow, CacheError, type Embedder, type TextWindow } from '@llm-cache/core';
import type { Config } from '@llm-cache/config';
import { defaultModelDir, ensureModel, OnnxEmbedder, OpenAIEmbedder, TokenWindow } from '@llm-cache/embedding';
import type { Logger } from '@llm-cache/telemetry';

/** The embedder the configuration asks for: the local ONNX model (fetched on first use) or OpenAI. */
export async function createEmbedder(config: Config, logger: Logger): Promise<Embedder> {
  const settings = config.embedding;
  if (settings.provider === 'openai') {
    if (!settings.baseUrl)
      throw new CacheError(
        'LLMCACHE_CONFIG',
        'embedding.baseUrl (LLMCACHE_EMBEDDING_BASE_URL) is required when embedding.provider is openai',
      );
    return OpenAIEmbedder.create({
      baseURL: settings.baseUrl,
      model: settings.model,
      apiKey: settings.apiKey,
      maxBatchSize: settings.maxBatchSize,
      maxWaitMs: settings.maxWaitMs,
      timeoutMs: 30_000,
      maxInputTokens: settings.maxInputTokens,
    });
  }
  return OnnxEmbedder.create({
    modelDir: await localModelDir(config, logger),
    maxBatchSize: settings.maxBatchSize,
    maxWaitMs: settings.maxWaitMs,
    threads: settings.threads,
  });
}

/** The local model's folder, fetched first when it is missing and the configuration allows it. */
async function localModelDir(config: Config, logger: Logger): Promise<string> {
  return ensureModel({
    dir: config.embedding.modelDir ?? defaultModelDir(),
    fetch: config.embedding.autoFetch,
    log: (line: string) => logger.info(line),
  });
}

/**
 * The configured embedder's window without loading its model: the local model's tokenizer, or the
 * OpenAI model's input limit. A gateway measures prompts with it to split those longer than the window.
 */
export async function createTextWindow(config: Config, logger: Logger): Promise<TextWindow> {
  if (config.embedding.provider === 'openai') return byteWindow(config.embedding.maxInputTokens);
  return TokenWindow.load(await localModelDir(config, logger));
}
