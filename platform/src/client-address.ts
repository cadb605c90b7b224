import type { IncomingMessage } from 'node:http';
import ipaddr from 'ipaddr.js';
import proxyAddr from 'proxy-addr';

// The address a request came from, and the key per-address limits count it under. Kept apart
// from the HTTP shell because it is a trust decision: X-Forwarded-For is written by whoever
// sends the request, and only the hops our own proxies appended can be believed. proxy-addr
// walks the header from the right (the socket's peer first) past the proxies we trust and
// answers the first hop that is not one of them — the leftmost entries, which a client
// writes itself, are never taken while an untrusted hop stands before them.
//
// TRUST_PROXY says which proxies are ours:
//   unset, "0" or "false"  trust none: the socket's peer is the client (the default)
//   a whole number N        the N nearest hops are ours (N=1: one proxy that appends, the usual case)
//   a comma list            addresses, CIDRs, or proxy-addr's names loopback, linklocal, uniquelocal

type Trust = (address: string, hop: number) => boolean;

const trustCache = new Map<string, Trust>();

/** TRUST_PROXY as proxy-addr's trust function; throws on a value it cannot read. */
export function trustedProxies(value: string | undefined): Trust {
  const raw = (value ?? '').trim();
  const cached = trustCache.get(raw);
  if (cached) return cached;
  let trust: Trust;
  if (raw === '' || raw === '0' || raw === 'false') trust = () => false;
  else if (/^\d+$/.test(raw)) {
    const hops = Number(raw);
    trust = (_address, hop) => hop < hops;
  } else {
    trust = proxyAddr.compile(
      raw
        .split(',')
        .map((entry) => entry.trim())
        .filter(Boolean),
    );
  }
  trustCache.set(raw, trust);
  return trust;
}

/** Why a TRUST_PROXY value cannot be read, or undefined when it can. */
export function trustProxyProblem(value: string): string | undefined {
  try {
    trustedProxies(value);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/**
 * The client's address: the rightmost X-Forwarded-For hop that is not a trusted proxy, or the
 * socket's peer when no proxy is trusted (TRUST_PROXY unset).
 */
export function clientAddress(req: IncomingMessage, trust: string | undefined = process.env.TRUST_PROXY): string {
  if (!req.socket.remoteAddress) return 'unknown';
  return proxyAddr(req, trustedProxies(trust));
}

/**
 * The key a per-address limit counts an address under: an IPv4 address as itself, an
 * IPv4-mapped IPv6 address as its IPv4, any other IPv6 address as its /64 (one subscriber's
 * network: a host picks addresses inside it at will, so counting them one by one would let it
 * start afresh at every attempt). A value that is not an address is counted as it is.
 */
export function addressKey(address: string): string {
  const trimmed = address.trim();
  // A zone (fe80::1%eth0) names an interface of ours, not part of the address.
  const bare = trimmed.replace(/%.*$/, '');
  if (!ipaddr.isValid(bare)) return trimmed;
  const parsed = ipaddr.parse(bare);
  if (parsed.kind() === 'ipv4') return parsed.toString();
  const v6 = parsed as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString();
  const prefix = v6.parts.slice(0, 4).map((part) => part.toString(16));
  return `${prefix.join(':')}::/64`;
}
