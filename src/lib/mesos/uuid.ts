/**
 * UUID helpers for Mesos' byte-form UUIDs (TaskStatus.uuid, ACKNOWLEDGE.uuid), carried in the JSON form as
 * standard base64 of the 16 raw bytes.
 *
 * Validation mirrors Mesos' `id::UUID::fromBytes` (stout/uuid.hpp): exactly 16 bytes, and boost's
 * `uuid.version()` must not be `version_unknown`, i.e. the high nibble of byte 6 must be a known version.
 * Mesos does NOT check the variant bits. Boost 1.74 (the Mesos 1.12 build) knows versions 1..5; newer boost
 * also knows 6..8, and we accept those too (lenient). Versions 0 and 9..15 are rejected, as Mesos does.
 */
import {randomBytes} from 'node:crypto'

/** 16 random bytes laid out as an RFC 4122 version-4 UUID (variant 10xx). */
export function randomUuidBytes(): Buffer {
  const b = randomBytes(16)
  b[6] = (b[6]! & 0x0f) | 0x40
  b[8] = (b[8]! & 0x3f) | 0x80
  return b
}

/** Standard base64 of randomUuidBytes(): the JSON form of a Mesos `bytes uuid` field. */
export function uuidBase64(): string {
  return randomUuidBytes().toString('base64')
}

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** True iff `b64` is standard base64 of exactly 16 bytes that Mesos' id::UUID::fromBytes would accept. */
export function isValidUuidBase64(b64: string): boolean {
  if (typeof b64 !== 'string' || !STRICT_BASE64.test(b64)) return false
  const bytes = Buffer.from(b64, 'base64')
  return isValidUuidBytes(bytes)
}

/** True iff `bytes` has 16 bytes and a known UUID version nibble (1..8). */
export function isValidUuidBytes(bytes: Uint8Array): boolean {
  if (bytes.byteLength !== 16) return false
  const version = bytes[6]! >> 4
  return version >= 1 && version <= 8
}
