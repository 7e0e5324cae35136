import { createHash } from 'node:crypto';
import type { GraphResource } from '../graph/resource-graph';

/**
 * A resource's folder name in the bank. Resource ids hold characters keys cannot (`:` in
 * `host:port/db`, `/` in paths), so type and id are base64url-encoded: the alphabet fits
 * the bank's key characters and two resources never share a folder. Very long ids are
 * hashed instead so keys stay short.
 */
export function resourceSectionName(r: Pick<GraphResource, 'type' | 'id'>): string {
  const raw = `${r.type}\u0000${r.id}`;
  const encoded = Buffer.from(raw, 'utf8').toString('base64url');
  return encoded.length <= 200 ? encoded : `h-${createHash('sha256').update(raw).digest('hex')}`;
}
