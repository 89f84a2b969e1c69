import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';

/** A receiver URL Roster refuses to send to. */
export class ReceiverUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReceiverUrlError';
  }
}

export type Resolver = (host: string) => Promise<string[]>;

const resolveAll: Resolver = async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/** IPv4 ranges that are not the public internet: [first octets, prefix length]. */
const PRIVATE_V4: [number[], number][] = [
  [[0], 8], // "this" network
  [[10], 8],
  [[100, 64], 10], // carrier-grade NAT
  [[127], 8], // loopback
  [[169, 254], 16], // link-local (cloud metadata)
  [[172, 16], 12],
  [[192, 0, 0], 24],
  [[192, 168], 16],
  [[198, 18], 15], // benchmarking
  [[224], 4], // multicast
  [[240], 4], // reserved, broadcast
];

function v4Number(address: string): number {
  return address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}

/** True for a loopback, private, link-local, unique-local, multicast or unspecified address. */
export function isPrivateAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').toLowerCase();
  const kind = isIP(bare);
  if (kind === 4) {
    const n = v4Number(bare);
    return PRIVATE_V4.some(([octets, bits]) => {
      const base = v4Number([...octets, 0, 0, 0, 0].slice(0, 4).join('.'));
      const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
      return (n & mask) >>> 0 === (base & mask) >>> 0;
    });
  }
  if (kind === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
    if (mapped) return isPrivateAddress(mapped[1]);
    if (bare === '::' || bare === '::1') return true;
    return /^(fc|fd|fe[89ab]|ff)/.test(bare); // unique local, link-local, multicast
  }
  return false;
}

/**
 * Checks a receiver URL before it is stored and before each delivery: https only, and
 * no loopback, private or link-local host (by name or by any address it resolves to),
 * unless `allowPrivate` (ROSTER_RECEIVERS_ALLOW_PRIVATE: development and tests), which
 * also allows http. Throws ReceiverUrlError; returns the parsed URL.
 */
export async function checkReceiverUrl(text: string, allowPrivate: boolean, resolve: Resolver = resolveAll): Promise<URL> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ReceiverUrlError(`"${text}" is not a URL`);
  }
  const allowedSchemes = allowPrivate ? ['https:', 'http:'] : ['https:'];
  if (!allowedSchemes.includes(url.protocol)) {
    throw new ReceiverUrlError(`receiver URLs must be https${allowPrivate ? ' or http' : ''} (got ${url.protocol.replace(/:$/, '')})`);
  }
  if (url.username !== '' || url.password !== '') throw new ReceiverUrlError('receiver URLs may not carry credentials');
  if (allowPrivate) return url;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost') || isPrivateAddress(host)) {
    throw new ReceiverUrlError(`${host} is a loopback or private address: allowed only with ROSTER_RECEIVERS_ALLOW_PRIVATE=true`);
  }
  if (isIP(host) === 0) {
    let addresses: string[];
    try {
      addresses = await resolve(host);
    } catch (error) {
      throw new ReceiverUrlError(`${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    const inner = addresses.find(isPrivateAddress);
    if (inner) throw new ReceiverUrlError(`${host} resolves to ${inner}, a loopback or private address: allowed only with ROSTER_RECEIVERS_ALLOW_PRIVATE=true`);
  }
  return url;
}
