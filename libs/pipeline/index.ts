/** Public surface of @granary/pipeline: Ceilometer's pipeline.yaml, sinks and transformers. */
export { PASS_THROUGH, parsePipelineConfig } from './src/config.ts';
export type {
  PipelineDefinition,
  PublisherDefinition,
  SinkDefinition,
  SourceDefinition,
  TransformerDefinition,
} from './src/config.ts';
export { pipelineErrors } from './src/errors.ts';
export type { PipelineErrorCode } from './src/errors.ts';
export { SamplePipeline } from './src/pipeline.ts';
export type { SinkOutput, TransformFailureListener } from './src/pipeline.ts';
export { sampleNamespace } from './src/sample.ts';
export type { MeterSample } from './src/sample.ts';
export { TRANSFORMER_NAMES, createTransformer } from './src/transformers.ts';
export type { Transformer } from './src/transformers.ts';
