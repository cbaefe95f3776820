import { defineCacheScenarios } from './scenarios.ts';
import { startCacheProcess, tempDir, type CacheProcess } from '../helpers/cache-process.ts';

defineCacheScenarios('embedded', async (env) => {
  const dataDir = tempDir({ after: (fn) => process.once('exit', fn) });
  const fullEnv = { LLMCACHE_DATA_DIR: dataDir, ...env };
  let process_: CacheProcess = await startCacheProcess(fullEnv);
  const handle = {
    url: process_.url,
    output: () => process_.output(),
    stop: async () => {
      await process_.stop();
    },
    restart: async (extraEnv: Record<string, string> = {}) => {
      await process_.stop();
      process_ = await startCacheProcess({ ...fullEnv, ...extraEnv, LLMCACHE_PORT: new URL(handle.url).port });
      handle.url = process_.url;
    },
  };
  return handle;
});
