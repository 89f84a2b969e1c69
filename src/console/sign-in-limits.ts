import { Counter, type CounterStore } from '../scim/http/rate-limit';

/** Failed sign-ins an account may have in a window before it is refused until the window ends. */
export const ACCOUNT_FAILURES = 5;
/** Failed sign-ins a client address may have in a window (several accounts, one address). */
export const ADDRESS_FAILURES = 20;
export const WINDOW_SECONDS = 15 * 60;

/**
 * Console sign-in attempts, limited per account (the email, in lower case) and per
 * client address, with rate-limiter-flexible's fixed windows (in this process, or in
 * PostgreSQL with ROSTER_RATE_LIMIT_STORE=postgres, shared by every instance). An
 * attempt takes a point from both before the password is checked, so attempts made
 * at the same time count too; a successful sign-in gives both back.
 */
export class SignInLimits {
  private readonly accounts: Counter;
  private readonly addresses: Counter;

  constructor(store?: CounterStore, limits = { account: ACCOUNT_FAILURES, address: ADDRESS_FAILURES, windowSeconds: WINDOW_SECONDS }) {
    this.accounts = new Counter('console-account', limits.account, limits.windowSeconds, store);
    this.addresses = new Counter('console-address', limits.address, limits.windowSeconds, store);
  }

  /** 0 when this attempt may check a password, else the seconds until the account or address may try again. */
  async attempt(email: string, address: string): Promise<number> {
    const account = await this.accounts.take(email.trim().toLowerCase());
    if (account > 0) return account;
    return this.addresses.take(address);
  }

  /** The attempt signed in: its points are given back. */
  async succeeded(email: string, address: string): Promise<void> {
    await Promise.all([this.accounts.giveBack(email.trim().toLowerCase()), this.addresses.giveBack(address)]);
  }
}
