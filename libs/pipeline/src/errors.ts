import { defineErrors } from '@granary/errors';

/** The closed list of errors of @granary/pipeline. */
export const pipelineErrors = defineErrors({
  PIPELINE_CONFIG_INVALID: { message: 'Invalid pipeline definition', status: 500, retriable: false },
  PIPELINE_TRANSFORM_FAILED: { message: 'Transformer failed on a sample', status: 400, retriable: false },
});

export type PipelineErrorCode = (typeof pipelineErrors.codes)[number];
