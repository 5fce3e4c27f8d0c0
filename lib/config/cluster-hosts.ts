/*
 * Host checks of cluster URLs. Every function takes `URL.hostname` as WHATWG URL normalises it:
 * IPv4 in dotted decimal whatever its spelling (`2852039166`, `0xa9.0xfe.0xa9.0xfe`, octal parts,
 * a trailing dot), IPv6 in brackets, lower-case and compressed (`[::ffff:a9fe:a9fe]`), names
 * lower-cased.
 */

/** IPv4 `a.b.c.d` as a 32-bit number; undefined for anything else. */
function ipv4(host: string): number | undefined {
  const parts = host.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = value * 256 + Number(part);
  }
  return value;
}

/** `[…]` IPv6 as its eight 16-bit groups; undefined for anything else. */
function ipv6(host: string): number[] | undefined {
  if (!host.startsWith('[') || !host.endsWith(']')) return undefined;
  const halves = host.slice(1, -1).split('::');
  if (halves.length > 2) return undefined;
  const groups = (half: string | undefined): number[] | undefined => {
    if (!half) return [];
    const out: number[] = [];
    for (const group of half.split(':')) {
      if (!/^[0-9a-f]{1,4}$/.test(group)) return undefined;
      out.push(parseInt(group, 16));
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  return [...head, ...new Array<number>(halves.length === 1 ? 0 : missing).fill(0), ...tail];
}

/**
 * The IPv4 address an IPv6 address embeds: IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible
 * `::a.b.c.d` and NAT64 `64:ff9b::a.b.c.d`.
 */
function embeddedIpv4(groups: readonly number[]): number | undefined {
  const [g0, g1, g2, g3, g4, g5, g6 = 0, g7 = 0] = groups;
  const low = g6 * 0x10000 + g7;
  const zeroTo = (end: number): boolean => groups.slice(0, end).every((g) => g === 0);
  if (zeroTo(5) && g5 === 0xffff) return low;
  if (zeroTo(6)) return low;
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return low;
  return undefined;
}

/** 169.254.0.0/16: IPv4 link-local, where the cloud metadata services answer (169.254.169.254). */
const isIpv4LinkLocal = (address: number): boolean => address >>> 16 === 0xa9fe;
/** 100.100.100.200: Alibaba Cloud's metadata service. */
const ALIBABA_METADATA = ipv4('100.100.100.200');
/** fd00:ec2::254: the IPv6 address of AWS's instance metadata service. */
const AWS_METADATA_V6 = '[fd00:ec2::254]';
/** Host names of cloud metadata services. */
const METADATA_NAMES: ReadonlySet<string> = new Set(['metadata.google.internal']);

/**
 * Whether a cluster URL must not point at `hostname`: link-local addresses (169.254.0.0/16,
 * fe80::/10, and 169.254.x.y embedded in IPv6: `::ffff:`, `::`, `64:ff9b::`) and cloud metadata
 * services (100.100.100.200, fd00:ec2::254, metadata.google.internal).
 */
export function isForbiddenClusterHost(hostname: string): boolean {
  const v4 = ipv4(hostname);
  if (v4 !== undefined) return isIpv4LinkLocal(v4) || v4 === ALIBABA_METADATA;
  const v6 = ipv6(hostname);
  if (v6 !== undefined) {
    if (((v6[0] ?? 0) & 0xffc0) === 0xfe80 || hostname === AWS_METADATA_V6) return true;
    const embedded = embeddedIpv4(v6);
    return embedded !== undefined && (isIpv4LinkLocal(embedded) || embedded === ALIBABA_METADATA);
  }
  return METADATA_NAMES.has(hostname.replace(/\.$/, ''));
}

/**
 * Whether `hostname` is loopback: `localhost` and `*.localhost` (with or without a trailing dot),
 * 127.0.0.0/8, `[::1]`, and 127.x.y.z embedded in IPv6 (`::ffff:`).
 */
export function isLoopbackHost(hostname: string): boolean {
  const name = hostname.replace(/\.$/, '');
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  const v4 = ipv4(hostname);
  if (v4 !== undefined) return v4 >>> 24 === 127;
  const v6 = ipv6(hostname);
  if (v6 === undefined) return false;
  if (v6.slice(0, 7).every((g) => g === 0) && v6[7] === 1) return true;
  const [g0, g1, g2, g3, g4, g5] = v6;
  const mapped = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0xffff;
  return mapped && (v6[6] ?? 0) >>> 8 === 127;
}

/** `path` without its trailing slashes, in one pass from the end (`/\/+$/` is quadratic). */
export function trimTrailingSlashes(path: string): string {
  let end = path.length;
  while (end > 0 && path.charCodeAt(end - 1) === 0x2f) end--;
  return end === path.length ? path : path.slice(0, end);
}
