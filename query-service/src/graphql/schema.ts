import { builder } from './builder.ts';
import './rooms.ts';
import './messages.ts';
import './users.ts';
import './room-events.ts';
import './my-events.ts';
import './typing.ts';

export const schema = builder.toSchema();
