// The task queue the pipeline and step workflows (and their control activities) run on.
// Its own module, free of imports, so the CLI and worker can share it with workflow code.
export const WORKFLOW_QUEUE = 'bpoflow';
