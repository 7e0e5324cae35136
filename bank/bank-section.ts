import { ReadOnlySectionError } from '../common/errors';
import type { Bank, LeaseToken, ListOptions } from './bank';
import { joinKey, validateKey } from './keys';

/**
 * A plugin's window onto the bank: keys are relative to `prefix`, writes present the lease
 * the section was opened with, and a read-only section refuses every write.
 */
export class BankSection {
  readonly prefix: string;

  constructor(
    private readonly bank: Bank,
    prefix: string,
    private readonly opts: { readOnly?: boolean; lease?: LeaseToken } = {},
  ) {
    this.prefix = validateKey(prefix.replace(/\/+$/, ''));
  }

  get readOnly(): boolean {
    return this.opts.readOnly ?? false;
  }

  async updateObject(key: string, value: unknown): Promise<void> {
    this.refuseIfReadOnly();
    await this.bank.updateObject(this.full(key), value, this.writeOptions());
  }

  async getObject<T = unknown>(key: string): Promise<T> {
    return this.bank.getObject<T>(this.full(key));
  }

  /** Keys relative to the section. */
  async listObjects(prefix = '', opts: ListOptions = {}): Promise<string[]> {
    const base = `${this.prefix}/`;
    const keys = await this.bank.listObjects(base + prefix.replace(/^\/+/, ''), {
      ...opts,
      ...(opts.marker !== undefined ? { marker: base + opts.marker } : {}),
    });
    return keys.map((k) => k.slice(base.length));
  }

  async deleteObject(key: string): Promise<void> {
    this.refuseIfReadOnly();
    await this.bank.deleteObject(this.full(key), this.writeOptions());
  }

  private full(key: string): string {
    validateKey(key);
    return validateKey(joinKey(this.prefix, key));
  }

  private writeOptions() {
    return this.opts.lease ? { lease: this.opts.lease } : {};
  }

  private refuseIfReadOnly(): void {
    if (this.readOnly) throw new ReadOnlySectionError(this.prefix);
  }
}
