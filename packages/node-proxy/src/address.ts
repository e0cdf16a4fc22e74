/**
 * @module
 * Telling this machine's addresses from everyone else's: which binds need keys, and which
 * requests come from a web page rather than a local program.
 */

/** True for addresses only this machine can reach (`127.0.0.0/8`, `::1`, `localhost`). */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** The host part of a Host header (`[::1]:8082` → `::1`, `localhost:8082` → `localhost`). */
export function hostName(host: string): string {
  const bracket = /^\[([^\]]*)\]/.exec(host);
  if (bracket !== null) return bracket[1] as string;
  const colon = host.lastIndexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}

/** True when an `Origin` header names a page served from this machine (`null` is not). */
export function isLoopbackOrigin(origin: string): boolean {
  if (origin === 'null') return false;
  try {
    return isLoopbackHost(new URL(origin).hostname);
  } catch {
    return false;
  }
}
