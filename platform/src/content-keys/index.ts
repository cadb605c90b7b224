export * from './sealing.ts';
export * from './master-keys.ts';
export * from './pg-content-keys.ts';
export * from './boot.ts';
