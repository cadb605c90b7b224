import { builder } from './builder.ts';
import './rooms.ts';
import './messages.ts';
import './accounts.ts';
import './attachments.ts';

export const schema = builder.toSchema();
