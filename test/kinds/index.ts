// The test kinds, as BPOFLOW_KIND_MODULES loads them (activities/registry.ts).
import { testBlock, testNoop, testShard, testTrain } from './kinds.js';

export const kinds = [testNoop, testShard, testBlock, testTrain];
