import { batch1000, bulk1000 } from './batch-1000.js';
import { ingressLimit, ingressSingle } from './ingress-limit.js';
import { micro } from './micro.js';
import { naive } from './naive.js';
import { overloadRss } from './overload-rss.js';
import { scalingShards } from './scaling-shards.js';
import { scalingSize } from './scaling-size.js';
import { singleC64, singlePaced } from './single-c64.js';
import { storeLimit } from './store-limit.js';
import type { Scenario } from './types.js';

/** Every scenario, in the order they run. */
export const scenarios: readonly Scenario[] = [batch1000, bulk1000, singleC64, singlePaced, overloadRss, storeLimit, ingressLimit, ingressSingle, naive, micro, scalingShards, scalingSize];
