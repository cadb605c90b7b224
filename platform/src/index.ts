export * from './config.ts';
export * from './topics.ts';
export * from './log.ts';
export * from './clients.ts';
export * from './wait.ts';
export * from './shutdown.ts';
export * from './keyed-lock.ts';
export * from './http.ts';
