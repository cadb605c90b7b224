import { gql } from './graphql.ts';

// Test users: signed up through the real command service, one account per name and stack,
// so tests keep speaking of "alice" and "bob" while the platform sees server-issued ids.

export const TEST_PASSWORD = 'correct horse battery staple';

export interface TestUser {
  name: string;
  userId: string;
  username: string;
  accessToken: string;
  refreshToken: string;
}

const SESSION = `userId username accessToken refreshToken`;
export const SIGN_UP = `mutation($username: String!, $password: String!, $displayName: String) {
  signUp(username: $username, password: $password, displayName: $displayName) {
    __typename ... on Session { ${SESSION} } ... on CommandError { code message retryAfterSeconds } } }`;
export const LOG_IN = `mutation($username: String!, $password: String!) {
  logIn(username: $username, password: $password) {
    __typename ... on Session { ${SESSION} } ... on CommandError { code message retryAfterSeconds } } }`;

/** Signs a user up; throws unless the answer is a session. */
export async function signUp(commandUrl: string, username: string, password = TEST_PASSWORD): Promise<TestUser> {
  const { signUp: result } = await gql(commandUrl, SIGN_UP, { username, password });
  if (result.__typename !== 'Session') throw new Error(`signUp ${username}: ${result.code} ${result.message}`);
  return {
    name: username,
    userId: result.userId,
    username: result.username,
    accessToken: result.accessToken,
    refreshToken: result.refreshToken,
  };
}

/** Users of one stack by name, each signed up on first use. */
export class TestUsers {
  private readonly commandUrl: string;
  private readonly users = new Map<string, Promise<TestUser>>();

  constructor(commandUrl: string) {
    this.commandUrl = commandUrl;
  }

  get(name: string): Promise<TestUser> {
    let user = this.users.get(name);
    if (!user) {
      user = signUp(this.commandUrl, name);
      this.users.set(name, user);
      user.catch(() => this.users.delete(name));
    }
    return user;
  }

  async token(name: string): Promise<string> {
    return (await this.get(name)).accessToken;
  }

  async id(name: string): Promise<string> {
    return (await this.get(name)).userId;
  }
}
