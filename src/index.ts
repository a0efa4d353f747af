/**
 * tfjs-self-attention: a trainable scaled dot-product self-attention layer for TensorFlow.js.
 * Importing this module registers every class for serialization.
 */

// The wasm backend of tfjs 4 has no UnsortedSegmentSum kernel, which the gradient of tf.gather
// (tf.layers.embedding) needs; this supplies one unless tfjs has its own.
import {registerWasmUnsortedSegmentSum} from './ops/unsorted_segment_sum_wasm';
registerWasmUnsortedSegmentSum();

// Types that public signatures use (so the API reference and an editor can show them).
export type {ApplyKwargs, AttentionApplyResult} from './layers/apply_types';
export type {Identifier} from './initializers';
export type {AtomicStep} from './io/atomic_directory';
export type {BuildOptions} from './keras/build';
export type {PlanLayer, PlanNode, PlanWeight} from './keras/topology';
export type {CallArg} from './keras/layers/keras_call';
export type {OpArg} from './keras/layers/keras_op';

export {andMasks, causalMask, MASK_FILL, paddingMask, positionCoverage, positionMask, PositionRules, slidingWindowMask, Span} from './attention/masks';
export {AttentionOptions, AttentionResult, DEFAULT_BLOCK_SIZE, PathOptions, PathResult} from './attention/options';
export {AttentionSteps, attentionSteps, maskedSoftmax, scaledDotProductAttention} from './attention/scaled_dot_product';
export {attention, ATTENTION_PATHS, AttentionPath, choosePath, DEFAULT_MEMORY_BUDGET_BYTES, DispatchCell, DispatchMode, DispatchOptions, FAST_PATH_MARGIN, measuredPath} from './attention/dispatch';
export {DISPATCH_TABLE} from './attention/dispatch_table';
export {fastCpuAttention} from './attention/paths/fast_cpu';
export {memoryEfficientAttention} from './attention/paths/memory_efficient';
export {fusedAttention, fusedUnsupported} from './attention/paths/fused';
export {fusedDropoutKeeps} from './attention/paths/fused_common';
export {Identity, identity, IdentityArgs} from './initializers';
export {PositionalEmbedding, positionalEmbedding, PositionalEmbeddingArgs, sinusoidalTable} from './layers/positional_embedding';
export {TokenEmbedding, tokenEmbedding, TokenEmbeddingArgs} from './layers/token_embedding';
export {SelfAttention, selfAttention, SelfAttentionArgs, SelfAttentionCallArgs} from './layers/self_attention';
export {Checkpoint, checkpoint, CheckpointArgs, CheckpointInfo} from './io/checkpoint';
export {fileSystem, FileSystemHandler, FileSystemOptions, registerFileRouters} from './io/file_handler';
export {checkedHttp, CheckedHttpHandler, CheckedHttpOptions} from './io/http_handler';
export {LoadCheckOptions} from './io/validate';
export {BackendChoice, useBestBackend, UseBestBackendArgs} from './backends';
export {decoderBlock, encoderBlock, TransformerBlockArgs} from './layers/blocks';
export {LayerNorm, layerNorm, LayerNormArgs} from './layers/layer_norm';
export {FeedForward, feedForward, FeedForwardArgs} from './layers/feed_forward';
export {matMul2d} from './ops/matmul';
export {loadKerasModel, LoadKerasModelOptions} from './keras/load';
export {KerasUnsupportedError, UnsupportedItem} from './keras/problems';
export {KerasConfigError} from './keras/config';
export {KerasModelPlan, planKerasModel, PlanOptions} from './keras/topology';
export {buildKerasModel, BuiltKerasModel, KerasWeight} from './keras/build';
export {KerasCall, KerasCallArgs} from './keras/layers/keras_call';
export {KerasOp, KerasOpArgs} from './keras/layers/keras_op';
export {KerasLayerNormalization, KerasLayerNormalizationArgs} from './keras/layers/layer_normalization';
export {KerasRMSNormalization, KerasRMSNormalizationArgs} from './keras/layers/rms_normalization';
export {KerasGlobalAveragePooling1D, KerasGlobalAveragePooling1DArgs} from './keras/layers/global_average_pooling_1d';
export {KerasGRU, KerasGRUArgs, KerasGRUCell, KerasGRUCellArgs} from './keras/layers/gru';
export {FullyMaskedRows, MultiHeadAttention, multiHeadAttention, MultiHeadAttentionArgs, MultiHeadAttentionBuildConfig, MultiHeadAttentionCallArgs, MultiHeadAttentionInput} from './layers/multi_head_attention';
export {AttentionConversionOptions, multiHeadAttentionFromSelfAttention, selfAttentionFromMultiHeadAttention} from './layers/attention_conversion';
export {isKerasArchive, kerasArchiveHandler, kerasConfig, KerasFileDestination, KerasFileSink, KerasFileSource, KerasObject, KerasSaveResult, kerasWeightLayout, KerasWeightSlot, loadKerasWeights, saveKerasModel, saveKerasWeights} from './keras/keras_file';
export {ApplyCachedArgs, AttentionCache, CACHE_LAYOUTS, CacheLayout, CreateCacheArgs, CrossAttentionCacheArgs, SelfAttentionCacheArgs} from './layers/attention_cache';
export {DecodingSession, startDecoding, StartDecodingArgs} from './generation/decoding';
export {generate, GenerateArgs} from './generation/generate';
