/**
 * Weights for NumPy, PyTorch and JAX: pytrees of tensors as named arrays in NumPy's `.npz` and Hugging
 * Face's `.safetensors` files (see docs/training.md, "Exporting weights").
 */
export { type HostArray, type NamedArrays } from './format';
export { decodeNpy, encodeNpy } from './npy';
export { decodeNpz, encodeNpz } from './npz';
export { decodeSafetensors, encodeSafetensors, type Safetensors } from './safetensors';
export { arraysToTensors, arraysToTree, leafNames, treeToArrays } from './named';
export { loadWeights, type LoadWeightsOptions, saveWeights, type SaveWeightsOptions, type WeightFormat } from './files';
