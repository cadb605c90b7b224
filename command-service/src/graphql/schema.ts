import { builder } from './builder.ts';
import './rooms.ts';
import './messages.ts';

export const schema = builder.toSchema();
