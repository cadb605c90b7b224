import { builder } from './builder.ts';
import './rooms.ts';
import './messages.ts';
import './users.ts';
import './room-events.ts';
import './my-events.ts';
import './typing.ts';
import './data-export.ts';

export const schema = builder.toSchema();
