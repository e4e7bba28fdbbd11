// The workflow bundle's entry: every workflow type the worker serves.
export { pipelineWorkflow } from './pipeline.js';
export { stepWorkflow } from './step.js';
