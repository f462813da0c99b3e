// @ts-check
// Length-prefixed frames between Director and an executor: [u32 rest length][u32 header length][header JSON][body].
// Director's side reads with a cap checked on the length prefix, before anything is buffered, so no
// message an executor sends (a script may forge one) can make Director allocate or parse more than that.
// The body carries big text (a script's source, a result, logs) as raw bytes, never JSON-escaped.
'use strict';

/**
 * @param {Record<string, unknown>} header
 * @param {Buffer | null} [body]
 * @returns {Buffer}
 */
function encodeFrame(header, body = null) {
  const head = Buffer.from(JSON.stringify(header));
  const bodyBytes = body === null ? 0 : body.length;
  const prefix = Buffer.allocUnsafe(8);
  prefix.writeUInt32BE(4 + head.length + bodyBytes, 0);
  prefix.writeUInt32BE(head.length, 4);
  return body === null ? Buffer.concat([prefix, head]) : Buffer.concat([prefix, head, body]);
}

/**
 * @typedef {{ header: Record<string, unknown>, body: Buffer }} Frame
 * @typedef {{ maxFrameBytes: number, maxHeaderBytes: number, onFrame: (frame: Frame) => void, onError: (reason: string) => void }} ReaderOptions
 */

/**
 * A push parser: feed it chunks as they arrive. After an error it ignores everything (the sender is
 * to be ended, and nothing it says later can be trusted).
 * @param {ReaderOptions} options
 * @returns {{ push(chunk: Buffer): void }}
 */
function createFrameReader(options) {
  /** @type {Buffer[]} */
  let chunks = [];
  let buffered = 0;
  /** Bytes the frame being read needs in all: chunks are joined only once it has arrived. */
  let needed = 4;
  let failed = false;

  /** @param {string} reason */
  function fail(reason) {
    failed = true;
    chunks = [];
    buffered = 0;
    options.onError(reason);
  }

  return {
    push(chunk) {
      if (failed) return;
      chunks.push(chunk);
      buffered += chunk.length;
      while (!failed && buffered >= needed) {
        const joined = chunks.length === 1 ? /** @type {Buffer} */ (chunks[0]) : Buffer.concat(chunks);
        chunks = [joined];
        const length = joined.readUInt32BE(0);
        if (length > options.maxFrameBytes) return fail(`a message of ${length} bytes, more than the ${options.maxFrameBytes} allowed`);
        if (length < 4) return fail('a message shorter than its header');
        if (buffered < 4 + length) {
          needed = 4 + length;
          return;
        }
        const headerBytes = joined.readUInt32BE(4);
        if (headerBytes > options.maxHeaderBytes || headerBytes > length - 4) return fail(`a message header of ${headerBytes} bytes`);
        let header;
        try {
          header = JSON.parse(joined.toString('utf8', 8, 8 + headerBytes));
        } catch {
          return fail('a message whose header is not JSON');
        }
        if (typeof header !== 'object' || header === null || Array.isArray(header)) return fail('a message whose header is not an object');
        const body = joined.subarray(8 + headerBytes, 4 + length);
        const rest = joined.subarray(4 + length);
        chunks = rest.length > 0 ? [rest] : [];
        buffered = rest.length;
        needed = 4;
        options.onFrame({ header, body });
      }
    },
  };
}

module.exports = { encodeFrame, createFrameReader };
