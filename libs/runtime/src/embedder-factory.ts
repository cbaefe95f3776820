import { CacheError, type Embedder } from '@llm-cache/core';
import type { Config } from '@llm-cache/config';
import { defaultModelDir, ensureModel, OnnxEmbedder, OpenAIEmbedder } from '@llm-cache/embedding';
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
    });
  }
  const dir = await ensureModel({
    dir: settings.modelDir ?? defaultModelDir(),
    fetch: settings.autoFetch,
    log: (line: string) => logger.info(line),
  });
  return OnnxEmbedder.create({
    modelDir: dir,
    maxBatchSize: settings.maxBatchSize,
    maxWaitMs: settings.maxWaitMs,
    threads: settings.threads,
  });
}
