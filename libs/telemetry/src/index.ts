export { createLogger, secretScrubber, type Logger } from './logger.ts';

export { Metrics, type FalseHitSample, type LagSample, type NamespaceSample } from './metrics.ts';
