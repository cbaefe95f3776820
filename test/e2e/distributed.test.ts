import { defineCacheScenarios } from './scenarios.ts';
import { freshDistributedEnv, startDistributedCluster, type DistributedCluster } from '../helpers/distributed-cluster.ts';

defineCacheScenarios('distributed: five services over Kafka, Milvus, MongoDB, S3', async (extra) => {
  const env = { ...freshDistributedEnv(), ...extra };
  let cluster: DistributedCluster = await startDistributedCluster(env);
  const handle = {
    url: cluster.urls[0] as string,
    output: () => cluster.output(),
    stop: () => cluster.destroy(),
    restart: async (extraEnv: Record<string, string> = {}) => {
      await cluster.stop();
      cluster = await startDistributedCluster({ ...env, ...extraEnv, LLMCACHE_PORT: new URL(handle.url).port });
      handle.url = cluster.urls[0] as string;
    },
  };
  return handle;
});
