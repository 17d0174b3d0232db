export * from './convert';
export * from './creation';
export * from './elementwise';
export * from './indexing';
export * from './linalg';
export * from './movement';
export * from './nn';
export * from './reduce';
